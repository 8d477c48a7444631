import type { Video } from '@vodcloud/sdk';
import { useTranslation } from 'react-i18next';
import { formatBytes } from '../upload/format';

const kbps = (bps: number | null | undefined) =>
  bps ? `${Math.round(bps / 1000).toLocaleString()} kb/s` : null;

/** Renditions, source and timings: read-only facts of the video object. */
export function Details({ v }: { v: Video }) {
  const { t, i18n } = useTranslation('video');
  const none = t('none');
  const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString(i18n.language) : none);
  const secs = (n: number | null | undefined) =>
    n == null ? none : t('seconds', { value: n.toLocaleString(i18n.language, { maximumFractionDigits: 1 }) });
  const s = v.source;
  return (
    <>
      <section aria-labelledby="renditions-h" className="panel">
        <h2 id="renditions-h">{t('renditions')}</h2>
        {v.renditions.length === 0 ? (
          <p className="muted">{t('noRenditions')}</p>
        ) : (
          <div className="table-wrap">
            <table className="videos renditions">
              <thead>
                <tr>
                  <th scope="col">{t('rendition.name')}</th>
                  <th scope="col">{t('rendition.size')}</th>
                  <th scope="col" className="num">
                    {t('rendition.bitrate')}
                  </th>
                  <th scope="col">{t('rendition.status')}</th>
                </tr>
              </thead>
              <tbody>
                {v.renditions.map((r) => (
                  <tr key={r.name}>
                    <td>{r.name}</td>
                    <td>
                      {r.width}×{r.height}
                    </td>
                    <td className="num">{kbps(r.videoBitrate)}</td>
                    <td>
                      <span className={`status status-${r.status === 'ready' ? 'ready' : 'processing'}`}>
                        {t(`renditionStatus.${r.status}`)}
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <div className="two-col">
        <section aria-labelledby="source-h" className="panel">
          <h2 id="source-h">{t('source')}</h2>
          {s ? (
            <dl className="facts">
              <dt>{t('sourceFields.container')}</dt>
              <dd>{s.container?.split(',').join(', ') ?? none}</dd>
              <dt>{t('sourceFields.videoCodec')}</dt>
              <dd>{s.videoCodec ?? none}</dd>
              <dt>{t('sourceFields.audioCodec')}</dt>
              <dd>{s.audioCodec ?? none}</dd>
              <dt>{t('sourceFields.size')}</dt>
              <dd>{s.width && s.height ? `${s.width}×${s.height}` : none}</dd>
              <dt>{t('sourceFields.fps')}</dt>
              <dd>{s.fps ? `${Math.round(s.fps * 100) / 100} fps` : none}</dd>
              <dt>{t('sourceFields.bitrate')}</dt>
              <dd>{kbps(s.bitrate) ?? none}</dd>
              <dt>{t('sourceFields.duration')}</dt>
              <dd>{secs(v.duration)}</dd>
              <dt>{t('sourceFields.fileSize')}</dt>
              <dd>{v.sizeBytes ? formatBytes(v.sizeBytes, i18n.language) : none}</dd>
            </dl>
          ) : (
            <p className="muted">{t('noSource')}</p>
          )}
        </section>
        <section aria-labelledby="timings-h" className="panel">
          <h2 id="timings-h">{t('timings')}</h2>
          <dl className="facts">
            <dt>{t('timing.created')}</dt>
            <dd>{when(v.createdAt)}</dd>
            <dt>{t('timing.uploaded')}</dt>
            <dd>{when(v.timings?.uploadCompletedAt)}</dd>
            <dt>{t('timing.toPlayable')}</dt>
            <dd>{secs(v.timings?.toPlayableSec)}</dd>
            <dt>{t('timing.toReady')}</dt>
            <dd>{secs(v.timings?.toReadySec)}</dd>
            <dt>{t('timing.readyAt')}</dt>
            <dd>{when(v.readyAt)}</dd>
          </dl>
        </section>
      </div>
    </>
  );
}
