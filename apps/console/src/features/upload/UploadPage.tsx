import { useQuery } from '@tanstack/react-query';
import { type CreatedUpload, createUpload, type UploadState, type VodUpload } from '@vodcloud/upload';
import { type DragEvent, type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap, vc } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { registerMessages } from '../../i18n';
import { PageTitle } from '../../ui/PageTitle';
import { formatBytes } from './format';
import { messages } from './messages';
import { forgetStored, type StoredUpload, storedFor, storedUploads } from './stored';
import './upload.css';

registerMessages('upload', messages);

/** Bytes per PATCH: small enough that a reload loses little, large enough to be efficient. */
const CHUNK_SIZE = 8 * 1024 * 1024;

interface Item {
  key: string;
  name: string;
  state: UploadState | 'imported';
  percent: number;
  bytesTotal: number;
  rate: number;
  eta: number | null;
  videoId: string | null;
  resumedAt: number | null;
  error: string;
}

interface Fields {
  title: string;
  templateId: string;
  categoryId: string;
}

let nextKey = 0;

export default function UploadPage() {
  const { t, i18n } = useTranslation('upload');
  const [fields, setFields] = useState<Fields>({ title: '', templateId: '', categoryId: '' });
  const [items, setItems] = useState<Item[]>([]);
  const [stored, setStored] = useState<StoredUpload[]>(() => storedUploads());
  const [dragging, setDragging] = useState(false);
  const [notice, setNotice] = useState('');
  const uploads = useRef(new Map<string, VodUpload>());
  const ids = { title: useId(), template: useId(), category: useId(), files: useId(), url: useId() };

  const templates = useQuery({
    queryKey: ['templates'],
    queryFn: async () => unwrap(await api.GET('/v1/templates', { params: { query: { limit: 100 } } })).data,
    staleTime: 60_000,
  });
  const categories = useQuery({
    queryKey: ['categories'],
    queryFn: async () => unwrap(await api.GET('/v1/categories', { params: { query: { limit: 100 } } })).data,
    staleTime: 60_000,
  });

  // Leaving the page stops sending (the uploads stay remembered and resumable).
  useEffect(() => {
    const map = uploads.current;
    return () => {
      for (const u of map.values()) u.pause();
    };
  }, []);

  const update = (key: string, patch: Partial<Item>) =>
    setItems((prev) => prev.map((it) => (it.key === key ? { ...it, ...patch } : it)));
  const syncState = (key: string) => {
    const u = uploads.current.get(key);
    if (u) update(key, { state: u.state });
  };

  const videoFields = (file: File | null) => ({
    title: fields.title.trim() || file?.name || undefined,
    ...(fields.templateId ? { templateId: fields.templateId } : {}),
    ...(fields.categoryId ? { categoryId: fields.categoryId } : {}),
  });

  /** Starts one file: a remembered upload of it continues, otherwise a new one is created. */
  const start = async (file: File, resumeOf?: StoredUpload) => {
    const key = `u${nextKey++}`;
    const known = resumeOf ?? storedFor(file, stored);
    setItems((prev) => [
      ...prev,
      {
        key,
        name: file.name,
        state: 'preparing',
        percent: 0,
        bytesTotal: file.size,
        rate: 0,
        eta: null,
        videoId: known?.upload.videoId ?? null,
        resumedAt: null,
        error: '',
      },
    ]);
    try {
      let created: CreatedUpload;
      if (known) {
        created = known.upload;
        setStored((prev) => prev.filter((s) => s.key !== known.key));
      } else {
        created = await vc.videos.createUpload(file, videoFields(file));
      }
      const upload = createUpload(file, { upload: created, chunkSize: CHUNK_SIZE });
      uploads.current.set(key, upload);
      update(key, { videoId: created.videoId });
      upload.on('resumed', () => update(key, { resumedAt: -1 }));
      upload.on('progress', (p) =>
        setItems((prev) =>
          prev.map((it) =>
            it.key === key
              ? {
                  ...it,
                  state: upload.state,
                  percent: p.percent,
                  bytesTotal: p.bytesTotal,
                  rate: p.rate,
                  eta: p.eta,
                  resumedAt: it.resumedAt === -1 ? p.percent : it.resumedAt,
                }
              : it,
          ),
        ),
      );
      upload.on('success', (r) => update(key, { state: 'complete', percent: 100, videoId: r.videoId }));
      upload.on('error', (err) => update(key, { state: 'failed', error: err.message }));
      void upload.start().catch(() => {});
      update(key, { state: upload.state });
    } catch (err) {
      update(key, { state: 'failed', error: errorMessage(err, t) });
    }
  };

  const addFiles = (files: FileList | File[] | null) => {
    for (const f of files ?? []) void start(f);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    addFiles(e.dataTransfer.files);
  };

  const resumeStored = (s: StoredUpload, file: File | undefined) => {
    if (!file) return;
    if (file.name !== s.name || file.size !== s.size) {
      setNotice(
        t('notSameFile', { chosen: file.name, name: s.name, size: formatBytes(s.size, i18n.language) }),
      );
      return;
    }
    setNotice('');
    void start(file, s);
  };
  const forgetGone = (s: StoredUpload) => {
    forgetStored(s.key);
    setStored((prev) => prev.filter((x) => x.key !== s.key));
  };
  const discard = async (s: StoredUpload) => {
    forgetStored(s.key);
    setStored((prev) => prev.filter((x) => x.key !== s.key));
    // Best effort: the server expires it anyway.
    await api.DELETE('/v1/uploads/{id}', { params: { path: { id: s.upload.id } } }).catch(() => {});
  };

  return (
    <section className="page upload-page">
      <PageTitle>{t('title')}</PageTitle>

      <fieldset className="upload-fields">
        <legend>{t('settings')}</legend>
        <div className="field grow">
          <label htmlFor={ids.title}>{t('videoTitle')}</label>
          <input
            id={ids.title}
            value={fields.title}
            maxLength={500}
            aria-describedby={`${ids.title}-hint`}
            onChange={(e) => setFields({ ...fields, title: e.target.value })}
          />
          <small id={`${ids.title}-hint`} className="muted">
            {t('videoTitleHint')}
          </small>
        </div>
        <div className="field">
          <label htmlFor={ids.template}>{t('template')}</label>
          <select
            id={ids.template}
            value={fields.templateId}
            onChange={(e) => setFields({ ...fields, templateId: e.target.value })}
          >
            <option value="">{t('defaultTemplate')}</option>
            {(templates.data ?? []).map((tp) => (
              <option key={tp.id} value={tp.id}>
                {tp.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.category}>{t('category')}</label>
          <select
            id={ids.category}
            value={fields.categoryId}
            onChange={(e) => setFields({ ...fields, categoryId: e.target.value })}
          >
            <option value="">{t('noCategory')}</option>
            {(categories.data ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
      </fieldset>

      {/* biome-ignore lint/a11y/noStaticElementInteractions: the drop target; the file input inside is the keyboard way */}
      <div
        className={`drop-zone${dragging ? ' dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p className="drop-title">{t('drop')}</p>
        <p className="muted">{t('or')}</p>
        <label htmlFor={ids.files} className="button primary">
          {t('choose')}
        </label>
        <input
          id={ids.files}
          className="visually-hidden file-input"
          type="file"
          multiple
          accept="video/*,audio/*,.mkv,.mov,.mp4,.webm,.avi,.ts,.m2ts,.mxf,.flv"
          onChange={(e) => {
            addFiles(e.target.files ? [...e.target.files] : null);
            e.target.value = '';
          }}
        />
        <p className="muted">{t('dropHint')}</p>
      </div>

      <p role="status" className="notice warn-notice">
        {notice}
      </p>

      {stored.length > 0 && (
        <section aria-labelledby="unfinished-h" className="unfinished">
          <h2 id="unfinished-h">{t('unfinished')}</h2>
          <p className="muted">{t('unfinishedHint')}</p>
          <ul className="upload-list">
            {stored.map((s) => (
              <StoredRow
                key={s.key}
                s={s}
                onFile={(f) => resumeStored(s, f)}
                onDiscard={() => void discard(s)}
                onGone={() => forgetGone(s)}
              />
            ))}
          </ul>
        </section>
      )}

      <section aria-labelledby="uploads-h">
        <h2 id="uploads-h">{t('files')}</h2>
        {items.length === 0 ? (
          <p className="muted">{t('noFiles')}</p>
        ) : (
          <ul className="upload-list">
            {items.map((it) => (
              <UploadRow
                key={it.key}
                it={it}
                onPause={() => {
                  uploads.current.get(it.key)?.pause();
                  syncState(it.key);
                }}
                onResume={() => {
                  uploads.current.get(it.key)?.resume();
                  syncState(it.key);
                }}
                onCancel={() => {
                  const u = uploads.current.get(it.key);
                  if (u) void u.abort().finally(() => syncState(it.key));
                  syncState(it.key);
                }}
              />
            ))}
          </ul>
        )}
      </section>

      <ImportForm
        id={ids.url}
        fields={() => videoFields(null)}
        onImported={(name, videoId) =>
          setItems((prev) => [
            ...prev,
            {
              key: `u${nextKey++}`,
              name,
              state: 'imported',
              percent: 100,
              bytesTotal: 0,
              rate: 0,
              eta: null,
              videoId,
              resumedAt: null,
              error: '',
            },
          ])
        }
      />
    </section>
  );
}

function UploadRow(props: { it: Item; onPause: () => void; onResume: () => void; onCancel: () => void }) {
  const { t, i18n } = useTranslation('upload');
  const { it } = props;
  const active = it.state === 'uploading' || it.state === 'preparing' || it.state === 'paused';
  const percent = Math.floor(it.percent);
  return (
    <li className={`upload-item state-${it.state}`}>
      <div className="upload-name">
        <strong>{it.name}</strong>
        <span className="muted">
          {t(`state.${it.state}`)}
          {it.resumedAt !== null &&
            it.resumedAt >= 0 &&
            ` · ${t('resumedFrom', { percent: Math.floor(it.resumedAt) })}`}
        </span>
      </div>
      {it.state !== 'imported' && (
        <div className="upload-progress">
          <div
            className="bar"
            role="progressbar"
            aria-label={t('progress', { name: it.name })}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={percent}
            aria-valuetext={`${percent} %`}
          >
            <div className="bar-fill" style={{ width: `${it.percent}%` }} />
          </div>
          <span className="upload-figures">
            {percent} %{it.bytesTotal > 0 && ` · ${formatBytes(it.bytesTotal, i18n.language)}`}
            {it.state === 'uploading' &&
              it.rate > 0 &&
              ` · ${t('speed', { rate: formatBytes(it.rate, i18n.language) })}`}
            {it.state === 'uploading' && it.eta !== null && ` · ${t('eta', { seconds: Math.ceil(it.eta) })}`}
          </span>
        </div>
      )}
      {it.error && (
        <p className="error" role="alert">
          {it.error}
        </p>
      )}
      <div className="upload-actions">
        {it.state === 'uploading' && (
          <button
            type="button"
            className="button"
            aria-label={t('pauseFile', { name: it.name })}
            onClick={props.onPause}
          >
            {t('pause')}
          </button>
        )}
        {it.state === 'paused' && (
          <button
            type="button"
            className="button"
            aria-label={t('resumeFile', { name: it.name })}
            onClick={props.onResume}
          >
            {t('resume')}
          </button>
        )}
        {active && (
          <button
            type="button"
            className="button ghost"
            aria-label={t('cancelFile', { name: it.name })}
            onClick={props.onCancel}
          >
            {t('cancel')}
          </button>
        )}
        {(it.state === 'complete' || it.state === 'imported') && it.videoId && (
          <Link to={`/videos/${it.videoId}`} className="button" aria-label={t('openFile', { name: it.name })}>
            {t('open')}
          </Link>
        )}
      </div>
    </li>
  );
}

function StoredRow(props: {
  s: StoredUpload;
  onFile: (f: File | undefined) => void;
  onDiscard: () => void;
  onGone: () => void;
}) {
  const { t, i18n } = useTranslation('upload');
  const { s, onGone } = props;
  const input = useRef<HTMLInputElement>(null);
  // Where the server stands: finished, expired or cancelled uploads are not listed.
  const status = useQuery({
    queryKey: ['upload', s.upload.id],
    queryFn: async () => unwrap(await api.GET('/v1/uploads/{id}', { params: { path: { id: s.upload.id } } })),
    retry: false,
  });
  const gone =
    (status.data && status.data.status !== 'waiting' && status.data.status !== 'uploading') ||
    (status.error as { status?: number } | null)?.status === 404;
  useEffect(() => {
    if (gone) onGone();
  }, [gone, onGone]);
  if (gone) return null;
  const when = s.createdAt ? new Date(s.createdAt).toLocaleString(i18n.language) : '';
  const done = status.data?.offset ?? 0;
  return (
    <li className="upload-item">
      <div className="upload-name">
        <strong>{s.name}</strong>
        <span className="muted">
          {t('stoppedAt', {
            done: formatBytes(done, i18n.language),
            size: formatBytes(s.size, i18n.language),
            when,
          })}
        </span>
      </div>
      <div className="upload-progress">
        <div
          className="bar"
          role="progressbar"
          aria-label={t('progress', { name: s.name })}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.floor((done / (s.size || 1)) * 100)}
        >
          <div className="bar-fill paused" style={{ width: `${(done / (s.size || 1)) * 100}%` }} />
        </div>
      </div>
      <div className="upload-actions">
        <button type="button" className="button primary" onClick={() => input.current?.click()}>
          {t('resume')}
        </button>
        <input
          ref={input}
          type="file"
          className="visually-hidden"
          tabIndex={-1}
          aria-label={t('chooseAgain', { name: s.name })}
          onChange={(e) => {
            props.onFile(e.target.files?.[0]);
            e.target.value = '';
          }}
        />
        <button
          type="button"
          className="button ghost"
          aria-label={t('discardFile', { name: s.name })}
          onClick={props.onDiscard}
        >
          {t('discard')}
        </button>
      </div>
    </li>
  );
}

function ImportForm(props: {
  id: string;
  fields: () => { title?: string; templateId?: string; categoryId?: string };
  onImported: (name: string, videoId: string) => void;
}) {
  const { t } = useTranslation('upload');
  const [url, setUrl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const f = props.fields();
      const name = f.title ?? (decodeURIComponent(new URL(url).pathname.split('/').pop() || '') || url);
      const video = unwrap(
        await api.POST('/v1/videos', { body: { ...f, title: name.slice(0, 500), input: { url } } }),
      );
      props.onImported(video.title ?? name, video.id);
      setUrl('');
    } catch (err) {
      setError(err instanceof TypeError ? t('importHint') : errorMessage(err, t));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="import-h" className="import">
      <h2 id="import-h">{t('importTitle')}</h2>
      <form className="import-form" onSubmit={submit}>
        <div className="field grow">
          <label htmlFor={props.id}>{t('importUrl')}</label>
          <input
            id={props.id}
            type="url"
            required
            value={url}
            placeholder="https://"
            aria-describedby={`${props.id}-hint`}
            onChange={(e) => setUrl(e.target.value)}
          />
          <small id={`${props.id}-hint`} className="muted">
            {t('importHint')}
          </small>
        </div>
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? t('importing') : t('import')}
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
