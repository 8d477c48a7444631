import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { Video } from '@vodcloud/sdk';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { CopyField } from './copy';

const EXPIRIES = ['3600', '86400', '604800', '2592000'] as const;
/** Frames offered for the cover: evenly spaced over the video. */
const COVER_CANDIDATES = 6;

async function playbackToken(id: string, aud: 'v' | 't' | 's', expiresIn: number) {
  return unwrap(
    await api.POST('/v1/videos/{id}/playback-tokens', { params: { path: { id } }, body: { aud, expiresIn } }),
  );
}

/** Embed code for everyone; signed URLs, cover and snapshots for writers. */
export function Tools({ v, writer }: { v: Video; writer: boolean }) {
  // A video held for review serves no thumbnails (404) until it is approved: no cover picker meanwhile.
  const held = v.detection?.review?.status === 'pending';
  return (
    <>
      <Embed v={v} />
      {writer && v.playback.policy === 'signed' && <SignedUrl v={v} />}
      {writer && !held && v.readyAt != null && v.duration != null && <Cover v={v} />}
      {writer && v.playable && <Snapshots v={v} />}
    </>
  );
}

function Embed({ v }: { v: Video }) {
  const { t } = useTranslation('video');
  const origin = location.origin;
  const iframe = `<iframe src="${v.playback.embedUrl}" width="640" height="360" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen style="border:0"></iframe>`;
  const component = `<script type="module" src="${origin}/embed/vod-player.js"></script>\n<vod-player playback-id="${v.playback.id}" api-base="${origin}"></vod-player>`;
  return (
    <section aria-labelledby="embed-h" className="panel">
      <h2 id="embed-h">{t('embed')}</h2>
      <CopyField id="embed-iframe" label={t('iframe')} value={iframe} multiline />
      <CopyField id="embed-component" label={t('component')} value={component} multiline />
      {v.playback.policy === 'signed' && <p className="muted">{t('signedEmbedHint')}</p>}
    </section>
  );
}

function SignedUrl({ v }: { v: Video }) {
  const { t, i18n } = useTranslation('video');
  const [expiry, setExpiry] = useState<(typeof EXPIRIES)[number]>('3600');
  const make = useMutation({ mutationFn: async () => playbackToken(v.id, 'v', Number(expiry)) });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    make.mutate();
  };
  const token = make.data?.token;
  return (
    <section aria-labelledby="signed-h" className="panel">
      <h2 id="signed-h">{t('signedUrl')}</h2>
      <form className="inline-form" onSubmit={submit}>
        <div className="field">
          <label htmlFor="signed-expiry">{t('expiry')}</label>
          <select
            id="signed-expiry"
            value={expiry}
            onChange={(e) => setExpiry(e.target.value as (typeof EXPIRIES)[number])}
          >
            {EXPIRIES.map((x) => (
              <option key={x} value={x}>
                {t(`expiries.${x}`)}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button primary" disabled={make.isPending}>
          {t('generate')}
        </button>
      </form>
      {make.error && (
        <p className="error" role="alert">
          {errorMessage(make.error, t)}
        </p>
      )}
      {token && make.data && (
        <>
          <CopyField
            id="signed-hls"
            label={t('hlsUrl')}
            value={`${v.playback.hlsUrl}?token=${token}`}
            multiline
          />
          <CopyField
            id="signed-embed"
            label={t('embedWithToken')}
            value={`${v.playback.embedUrl}?token=${token}`}
            multiline
          />
          <p className="muted">
            {t('expiresAt', { when: new Date(make.data.expiresAt).toLocaleString(i18n.language) })}
          </p>
        </>
      )}
    </section>
  );
}

function Cover({ v }: { v: Video }) {
  const { t } = useTranslation('video');
  const client = useQueryClient();
  const duration = v.duration ?? 0;
  const times = Array.from(
    { length: COVER_CANDIDATES },
    (_, i) => Math.round(((duration * (i + 0.5)) / COVER_CANDIDATES) * 2) / 2,
  );
  const [time, setTime] = useState(times[0] ?? 0);
  const [done, setDone] = useState<number | null>(null);
  const signed = v.playback.policy === 'signed';
  const thumbToken = useQuery({
    queryKey: ['thumb-token', v.id],
    enabled: signed,
    staleTime: 30 * 60_000,
    queryFn: async () => (await playbackToken(v.id, 't', 3600)).token,
  });
  const src = (at: number, width: number) =>
    `${v.playback.thumbnailUrl}?time=${at}&width=${width}${signed && thumbToken.data ? `&token=${thumbToken.data}` : ''}`;
  const save = useMutation({
    mutationFn: async (coverTime: number) =>
      unwrap(await api.PATCH('/v1/videos/{id}', { params: { path: { id: v.id } }, body: { coverTime } })),
    onSuccess: (updated, coverTime) => {
      client.setQueryData(['video', v.id], updated);
      setDone(coverTime);
    },
  });
  const ready = !signed || !!thumbToken.data;
  return (
    <section aria-labelledby="cover-h" className="panel">
      <h2 id="cover-h">{t('cover')}</h2>
      <p className="muted">{t('coverHint')}</p>
      {ready && (
        <fieldset className="cover-grid">
          <legend className="visually-hidden">{t('cover')}</legend>
          {times.map((at) => (
            <label key={at} className={`cover-option${at === time ? ' chosen' : ''}`}>
              <input
                type="radio"
                name="cover"
                className="visually-hidden"
                checked={at === time}
                onChange={() => setTime(at)}
              />
              <img
                src={src(at, 160)}
                alt={t('coverAt', { time: at })}
                loading="lazy"
                width={160}
                height={90}
              />
              <span>{at} s</span>
            </label>
          ))}
        </fieldset>
      )}
      <div className="inline-form">
        <div className="field">
          <label htmlFor="cover-time">{t('coverTime')}</label>
          <input
            id="cover-time"
            type="number"
            min={0}
            max={duration}
            step={0.5}
            value={time}
            onChange={(e) => setTime(Number(e.target.value))}
          />
        </div>
        <button
          type="button"
          className="button primary"
          disabled={save.isPending}
          onClick={() => save.mutate(time)}
        >
          {t('setCover')}
        </button>
      </div>
      <p role="status" className="notice">
        {done !== null ? t('coverSet', { time: done }) : ''}
      </p>
      {save.error && (
        <p className="error" role="alert">
          {errorMessage(save.error, t)}
        </p>
      )}
    </section>
  );
}

function Snapshots({ v }: { v: Video }) {
  const { t, i18n } = useTranslation('video');
  const [time, setTime] = useState(0);
  const [width, setWidth] = useState(640);
  const take = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/videos/{id}/snapshots', {
          params: { path: { id: v.id } },
          body: { time, ...(width ? { width } : {}) },
        }),
      ),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    take.mutate();
  };
  const shot = take.data;
  return (
    <section aria-labelledby="snapshots-h" className="panel">
      <h2 id="snapshots-h">{t('snapshots')}</h2>
      <form className="inline-form" onSubmit={submit}>
        <div className="field">
          <label htmlFor="snap-time">{t('snapshotTime')}</label>
          <input
            id="snap-time"
            type="number"
            min={0}
            max={v.duration ?? undefined}
            step={0.1}
            value={time}
            onChange={(e) => setTime(Number(e.target.value))}
          />
        </div>
        <div className="field">
          <label htmlFor="snap-width">{t('snapshotWidth')}</label>
          <input
            id="snap-width"
            type="number"
            min={16}
            max={3840}
            value={width}
            onChange={(e) => setWidth(Number(e.target.value))}
          />
        </div>
        <button type="submit" className="button primary" disabled={take.isPending}>
          {t('takeSnapshot')}
        </button>
      </form>
      {take.error && (
        <p className="error" role="alert">
          {errorMessage(take.error, t)}
        </p>
      )}
      {shot && (
        <figure className="snapshot">
          <img
            src={shot.url}
            alt={t('snapshotOf', { time: shot.time, width: shot.width, height: shot.height })}
            width={shot.width}
            height={shot.height}
          />
          <figcaption>
            <a href={shot.url} target="_blank" rel="noreferrer">
              {t('snapshotLink', { when: new Date(shot.expiresAt).toLocaleString(i18n.language) })}
            </a>
          </figcaption>
        </figure>
      )}
    </section>
  );
}
