import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { Video } from '@vodcloud/sdk';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap, VodCloudError } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { canWrite } from '../../app/roles';
import { useSession } from '../../app/session';
import { registerMessages } from '../../i18n';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { PageTitle } from '../../ui/PageTitle';
import { VideoStatsPanel } from '../stats/VideoStatsPanel';
import { Details } from './Details';
import { DETECTING, DetectionPanel } from './Detection';
import { Metadata } from './Metadata';
import { messages } from './messages';
import { Player } from './Player';
import { Tools } from './Tools';
import './video.css';

registerMessages('video', messages);

/** While uploading, queued or processing, the video is read again this often. */
const POLL_MS = 2_000;
const ACTIVE = new Set(['waiting_upload', 'uploading', 'queued', 'processing']);

export default function VideoPage() {
  const { t } = useTranslation('video');
  const { id = '' } = useParams();
  const writer = canWrite(useSession().data?.user);
  const video = useQuery({
    queryKey: ['video', id],
    queryFn: async () => unwrap(await api.GET('/v1/videos/{id}', { params: { path: { id } } })),
    // Also while detection is pending or running (after "Run detection again" too), until its result is in.
    refetchInterval: (q) =>
      q.state.data && (ACTIVE.has(q.state.data.status) || DETECTING.has(q.state.data.detection?.status ?? ''))
        ? POLL_MS
        : false,
    retry: (n, err) => !(err instanceof VodCloudError && err.status === 404) && n < 2,
  });

  if (video.isPending)
    return (
      <section className="page">
        <PageTitle>{t('title')}</PageTitle>
        <p className="loading">{t('common:loading')}</p>
      </section>
    );
  if (video.isError)
    return (
      <section className="page">
        <PageTitle>{t('title')}</PageTitle>
        <p className="error-box" role="alert">
          {video.error instanceof VodCloudError && video.error.status === 404
            ? t('notFound')
            : errorMessage(video.error, t)}
        </p>
        <Link to="/library">{t('back')}</Link>
      </section>
    );
  const v = video.data;
  const held = v.detection?.review?.status === 'pending';
  return (
    <section className="page video-page">
      <p className="back">
        <Link to="/library">← {t('back')}</Link>
      </p>
      <div className="page-head">
        <PageTitle>{v.title || t('untitled')}</PageTitle>
        <StatusBadge v={v} />
      </div>
      {held && (
        <p className="held-banner" role="note">
          {t('heldBanner')} <a href="#detection-h">{t('heldBannerLink')}</a>
        </p>
      )}
      {v.error && (
        <p className="error-box" role="alert">
          {t('error', { code: v.error.code, message: v.error.message })}
        </p>
      )}
      <div className="video-grid">
        <div className="video-main">
          <PlayerSection v={v} writer={writer} />
          <Metadata v={v} writer={writer} />
          <Details v={v} />
          <VideoStatsPanel videoId={v.id} />
        </div>
        <div className="video-side">
          {/* Held for review: the decision comes first. */}
          {held && <DetectionPanel v={v} writer={writer} />}
          <Tools v={v} writer={writer} />
          {writer && <Actions v={v} />}
          {!held && <DetectionPanel v={v} writer={writer} />}
        </div>
      </div>
    </section>
  );
}

function StatusBadge({ v }: { v: Video }) {
  const { t } = useTranslation('video');
  const active = ACTIVE.has(v.status) && v.status !== 'waiting_upload';
  const percent = Math.round(v.progress * 100);
  return (
    <div className="video-status">
      <span className={`status status-${v.status}`}>{t(`statuses.${v.status}`)}</span>
      {active && (
        <span className="progress">
          <progress max={100} value={percent} aria-label={t('processing')} />
          <span>{percent} %</span>
        </span>
      )}
    </div>
  );
}

/** Tokens for a signed video's player (aud v, t, s), made by a writer; a public video needs none. */
function usePlayerTokens(v: Video, writer: boolean) {
  const signed = v.playback.policy === 'signed';
  return useQuery({
    queryKey: ['player-tokens', v.id, v.playback.policy],
    enabled: signed && writer && v.playable && v.readyAt != null,
    staleTime: 30 * 60_000,
    queryFn: async () => {
      const one = async (aud: 'v' | 't' | 's') =>
        unwrap(
          await api.POST('/v1/videos/{id}/playback-tokens', {
            params: { path: { id: v.id } },
            body: { aud, expiresIn: 3600 },
          }),
        ).token;
      const [token, thumbToken, storyboardToken] = await Promise.all([one('v'), one('t'), one('s')]);
      return { token, thumbToken, storyboardToken };
    },
  });
}

function PlayerSection({ v, writer }: { v: Video; writer: boolean }) {
  const { t } = useTranslation('video');
  const signed = v.playback.policy === 'signed';
  const tokens = usePlayerTokens(v, writer);
  let body: React.ReactNode;
  // Until it has been ready once, its poster and storyboard are not made: the player waits for them.
  const ready = v.playable && v.readyAt != null;
  const held = v.detection?.review?.status === 'pending';
  if (!ready || v.status === 'blocked' || held)
    body = (
      <p className="player-empty muted">
        {v.status === 'blocked' ? t('blockedHint') : held ? t('heldHint') : t('notPlayable')}
      </p>
    );
  else if (signed && !writer) body = <p className="player-empty muted">{t('signedNeedsWriter')}</p>;
  else if (signed && !tokens.data)
    body = tokens.isError ? (
      <p className="error" role="alert">
        {errorMessage(tokens.error, t)}
      </p>
    ) : (
      <p className="player-empty muted">{t('common:loading')}</p>
    );
  else
    body = (
      <Player
        playbackId={v.playback.id}
        label={v.title || t('untitled')}
        {...(tokens.data ?? {})}
        poster={signed ? undefined : `${v.playback.thumbnailUrl}?width=640`}
      />
    );
  return (
    <section aria-label={t('player')} className="player-section">
      {body}
    </section>
  );
}

function Actions({ v }: { v: Video }) {
  const { t } = useTranslation('video');
  const client = useQueryClient();
  const navigate = useNavigate();
  const [confirm, setConfirm] = useState<'delete' | 'retranscode' | null>(null);
  const [templateId, setTemplateId] = useState(v.templateId ?? '');
  const [notice, setNotice] = useState('');
  const templates = useQuery({
    queryKey: ['templates'],
    queryFn: async () => unwrap(await api.GET('/v1/templates', { params: { query: { limit: 100 } } })).data,
    staleTime: 60_000,
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['video', v.id] });
  const block = useMutation({
    mutationFn: async (on: boolean) => {
      const params = { params: { path: { id: v.id } } };
      return on
        ? unwrap(await api.POST('/v1/videos/{id}/block', params))
        : unwrap(await api.POST('/v1/videos/{id}/unblock', params));
    },
    onSuccess: () => setNotice(''),
    onSettled: refresh,
  });
  const retranscode = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/videos/{id}/retranscode', {
          params: { path: { id: v.id } },
          body: { templateId: templateId || (templates.data?.[0]?.id ?? '') },
        }),
      ),
    onSuccess: () => {
      setConfirm(null);
      setNotice(t('retranscodeStarted'));
    },
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: async () => unwrap(await api.DELETE('/v1/videos/{id}', { params: { path: { id: v.id } } })),
    onSuccess: () => {
      client.removeQueries({ queryKey: ['video', v.id] });
      void client.invalidateQueries({ queryKey: ['videos'] });
      navigate('/library');
    },
  });
  const error = block.error ?? retranscode.error ?? remove.error;
  const blocked = v.status === 'blocked';
  return (
    <section aria-labelledby="actions-h" className="panel">
      <h2 id="actions-h">{t('actions')}</h2>
      <div className="action-row">
        <button
          type="button"
          className="button"
          disabled={block.isPending}
          onClick={() => block.mutate(!blocked)}
        >
          {blocked ? t('unblock') : t('block')}
        </button>
        <button type="button" className="button danger" onClick={() => setConfirm('delete')}>
          {t('delete')}
        </button>
      </div>
      <div className="action-row">
        <div className="field grow">
          <label htmlFor="retranscode-template">{t('retranscodeWith')}</label>
          <select
            id="retranscode-template"
            value={templateId}
            onChange={(e) => setTemplateId(e.target.value)}
          >
            {(templates.data ?? []).map((tp) => (
              <option key={tp.id} value={tp.id}>
                {tp.name}
              </option>
            ))}
          </select>
        </div>
        <button
          type="button"
          className="button"
          disabled={!templates.data?.length}
          onClick={() => setConfirm('retranscode')}
        >
          {t('retranscode')}
        </button>
      </div>
      <p role="status" className="notice">
        {notice}
      </p>
      {error && (
        <p className="error" role="alert">
          {errorMessage(error, t)}
        </p>
      )}
      <ConfirmDialog
        open={confirm === 'delete'}
        onOpenChange={(o) => setConfirm(o ? 'delete' : null)}
        title={t('deleteConfirm')}
        confirmLabel={t('delete')}
        busy={remove.isPending}
        onConfirm={() => remove.mutate()}
      >
        <p>{t('deleteBody', { title: v.title || t('untitled') })}</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'retranscode'}
        onOpenChange={(o) => setConfirm(o ? 'retranscode' : null)}
        title={t('retranscodeConfirm')}
        confirmLabel={t('retranscode')}
        busy={retranscode.isPending}
        onConfirm={() => retranscode.mutate()}
      >
        <p>{t('retranscodeBody')}</p>
      </ConfirmDialog>
    </section>
  );
}
