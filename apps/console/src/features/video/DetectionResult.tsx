import { useMutation, useQuery } from '@tanstack/react-query';
import type { components, Video } from '@vodcloud/sdk';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { formatScore, formatTime, topClass } from './detection-format';
import { ScoreBars } from './ScoreBars';

type Qc = components['schemas']['QcResult'];
type Moderation = components['schemas']['ModerationResult'];
type Frame = Moderation['frames'][number];

/** Width of a frame's snapshot: enough to judge it, small enough for the side column. */
const FRAME_WIDTH = 480;

/** The quality checks: black, freeze and silence spans, loudness, interlacing, crop, scene changes. */
export function QcFacts({ qc }: { qc: Qc }) {
  const { t, i18n } = useTranslation('video');
  const spans = (list: Qc['black']) =>
    list.length === 0
      ? t('detect.noSpans')
      : list.map((s) => `${formatTime(s.start)}–${formatTime(s.end)}`).join(', ');
  const num = (n: number) => n.toLocaleString(i18n.language, { maximumFractionDigits: 1 });
  const l = qc.loudness;
  return (
    <div className="detect-section">
      <h3>{t('detect.qc')}</h3>
      <dl className="facts">
        <dt>{t('detect.black')}</dt>
        <dd>{spans(qc.black)}</dd>
        <dt>{t('detect.freeze')}</dt>
        <dd>{spans(qc.freeze)}</dd>
        <dt>{t('detect.silence')}</dt>
        <dd>{spans(qc.silence)}</dd>
        <dt>{t('detect.loudness')}</dt>
        <dd>
          {l
            ? t('detect.loudnessValue', {
                lufs: num(l.integratedLufs),
                lra: num(l.lra),
                peak: num(l.truePeakDbtp),
              })
            : t('detect.noSound')}
        </dd>
        <dt>{t('detect.interlaced')}</dt>
        <dd>{qc.interlaced ? t('detect.yes') : t('detect.no')}</dd>
        <dt>{t('detect.crop')}</dt>
        <dd>
          {qc.crop
            ? t('detect.cropValue', { w: qc.crop.width, h: qc.crop.height, x: qc.crop.x, y: qc.crop.y })
            : t('detect.noCrop')}
        </dd>
        <dt>{t('detect.sceneChanges')}</dt>
        <dd>{qc.sceneChanges.toLocaleString(i18n.language)}</dd>
      </dl>
    </div>
  );
}

/** Moderation: the model, the highest score per class, and the frames listed (all of them on request). */
export function ModerationFacts({ v, m, writer }: { v: Video; m: Moderation; writer: boolean }) {
  const { t } = useTranslation('video');
  const [all, setAll] = useState(false);
  const full = useQuery({
    queryKey: ['detection', v.id, v.detection?.completedAt],
    enabled: all,
    queryFn: async () =>
      unwrap(await api.GET('/v1/videos/{id}/detection', { params: { path: { id: v.id } } })),
  });
  const frames = all && full.data?.moderation ? full.data.moderation.frames : m.frames;
  return (
    <div className="detect-section">
      <h3>{t('detect.moderation')}</h3>
      <dl className="facts">
        <dt>{t('detect.model')}</dt>
        <dd>{m.model}</dd>
        <dt>{t('detect.framesAnalyzed')}</dt>
        <dd>{m.framesAnalyzed}</dd>
        <dt>{t('detect.flaggedClasses')}</dt>
        <dd>
          {m.flaggedClasses.length
            ? m.flaggedClasses.map((c) => t(`detect.classes.${c}`)).join(t('detect.listSep'))
            : t('detect.noneFlagged')}
        </dd>
      </dl>
      <h4>{t('detect.maxScores')}</h4>
      <ScoreBars scores={m.max} flagged={m.flaggedClasses} />
      <h4 id={`frames-h-${v.id}`}>
        {all
          ? t('detect.allFrames', { count: frames.length })
          : t('detect.topFrames', { count: frames.length })}
      </h4>
      {frames.length === 0 ? (
        <p className="muted">{t('detect.noFrames')}</p>
      ) : (
        <ul className="detect-frames" aria-labelledby={`frames-h-${v.id}`}>
          {frames.map((f) => (
            <FrameRow key={f.time} v={v} f={f} writer={writer} />
          ))}
        </ul>
      )}
      {m.framesAnalyzed > m.frames.length && (
        <button type="button" className="button small" onClick={() => setAll(!all)} aria-expanded={all}>
          {all ? t('detect.showTop') : t('detect.showAll', { count: m.framesAnalyzed })}
        </button>
      )}
      {full.error && (
        <p className="error" role="alert">
          {errorMessage(full.error, t)}
        </p>
      )}
    </div>
  );
}

/** A frame: its time and top class; "Show frame" makes a snapshot (works for a held video too). */
function FrameRow({ v, f, writer }: { v: Video; f: Frame; writer: boolean }) {
  const { t, i18n } = useTranslation('video');
  const top = topClass(f.scores);
  const time = formatTime(f.time);
  const shot = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/videos/{id}/snapshots', {
          params: { path: { id: v.id } },
          body: {
            time: v.duration != null ? Math.min(f.time, v.duration) : f.time,
            width: Math.min(FRAME_WIDTH, v.source?.width ?? FRAME_WIDTH),
          },
        }),
      ),
  });
  return (
    <li className="detect-frame">
      <span className="frame-time">{time}</span>
      <span className="frame-class">
        {t('detect.topClass', {
          cls: t(`detect.classes.${top}`),
          score: formatScore(f.scores[top], i18n.language),
        })}
      </span>
      {writer && !shot.data && (
        <button
          type="button"
          className="button small"
          disabled={shot.isPending}
          aria-label={t('detect.showFrameAt', { time })}
          onClick={() => shot.mutate()}
        >
          {t('detect.showFrame')}
        </button>
      )}
      {shot.error && (
        <p className="error" role="alert">
          {errorMessage(shot.error, t)}
        </p>
      )}
      {shot.data && (
        <figure>
          <img
            src={shot.data.url}
            alt={t('detect.frameAt', { time })}
            width={shot.data.width}
            height={shot.data.height}
          />
          <figcaption>
            {t('detect.frameScores', {
              scores: Object.entries(f.scores)
                .map(([c, s]) => `${t(`detect.classes.${c}`)} ${formatScore(s, i18n.language)}`)
                .join(' · '),
            })}
          </figcaption>
        </figure>
      )}
    </li>
  );
}
