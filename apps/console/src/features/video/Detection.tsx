import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Video } from '@vodcloud/sdk';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { useSession } from '../../app/session';
import { ModerationFacts, QcFacts } from './DetectionResult';
import { type Detection, decider } from './detection-format';
import './detection.css';

/** Detection states in which the video page polls for the result. */
export const DETECTING = new Set(['pending', 'running']);

/**
 * The video's detection: status and the policy's action, the review (held videos: approve or reject), the
 * quality checks, the moderation scores with their frames, and a button to run it again (writers).
 */
export function DetectionPanel({ v, writer }: { v: Video; writer: boolean }) {
  const { t } = useTranslation('video');
  const d = v.detection;
  return (
    <section aria-labelledby="detection-h" className="panel detection-panel">
      <div className="detect-head">
        <h2 id="detection-h">{t('detection')}</h2>
        {d && <DetectionBadges d={d} />}
      </div>
      {d == null ? (
        <p className="muted">{t('detect.none')}</p>
      ) : (
        <>
          <DetectionState d={d} />
          {d.review && <Review v={v} review={d.review} writer={writer} />}
          {d.moderation && <ModerationFacts v={v} m={d.moderation} writer={writer} />}
          {d.qc && <QcFacts qc={d.qc} />}
          <Timings d={d} />
        </>
      )}
      {writer && <RunAgain v={v} />}
    </section>
  );
}

function DetectionBadges({ d }: { d: Detection }) {
  const { t } = useTranslation('video');
  // A video sent to review: held until decided, then the decision.
  const outcome = d.action === 'review' && d.review ? `review-${d.review.status}` : d.action;
  return (
    <>
      <span className={`status detect-${d.status}`}>
        <span className="visually-hidden">{t('detect.statusLabel')} </span>
        {t(`detect.statuses.${d.status}`)}
      </span>
      {d.status === 'completed' && (
        <span className={`status action-${outcome}`}>
          <span className="visually-hidden">{t('detect.actionLabel')} </span>
          {t(`detect.outcomes.${outcome}`)}
        </span>
      )}
    </>
  );
}

function DetectionState({ d }: { d: Detection }) {
  const { t } = useTranslation('video');
  if (d.status === 'failed')
    return (
      <p className="error" role="alert">
        {t('detect.failed', { code: d.error?.code ?? '', message: d.error?.message ?? '' })}
      </p>
    );
  if (DETECTING.has(d.status))
    return (
      <p className="muted" role="status">
        {t(d.qc || d.moderation ? 'detect.rerunning' : `detect.${d.status}Hint`)}
      </p>
    );
  return <p className="muted">{t(`detect.actionHint.${d.action}`)}</p>;
}

function Review({
  v,
  review,
  writer,
}: {
  v: Video;
  review: NonNullable<Detection['review']>;
  writer: boolean;
}) {
  const { t, i18n } = useTranslation('video');
  const client = useQueryClient();
  const me = useSession().data?.user;
  const decide = useMutation({
    mutationFn: async (action: 'approve' | 'reject') => {
      const params = { params: { path: { id: v.id } } };
      return action === 'approve'
        ? unwrap(await api.POST('/v1/videos/{id}/moderation/approve', params))
        : unwrap(await api.POST('/v1/videos/{id}/moderation/reject', params));
    },
    onSuccess: (updated) => {
      client.setQueryData(['video', v.id], updated);
      void client.invalidateQueries({ queryKey: ['moderation'] });
    },
  });
  const error = decide.error && (
    <p className="error" role="alert">
      {errorMessage(decide.error, t)}
    </p>
  );
  if (review.status === 'pending')
    return (
      <div className="held-box" role="note" aria-label={t('detect.held')}>
        <p>
          <strong>{t('detect.held')}</strong> {t('detect.heldBody')}
        </p>
        {writer ? (
          <div className="action-row">
            <button
              type="button"
              className="button primary"
              disabled={decide.isPending}
              onClick={() => decide.mutate('approve')}
            >
              {t('detect.approve')}
            </button>
            <button
              type="button"
              className="button danger"
              disabled={decide.isPending}
              onClick={() => decide.mutate('reject')}
            >
              {t('detect.reject')}
            </button>
          </div>
        ) : (
          <p className="muted">{t('detect.heldViewer')}</p>
        )}
        {error}
      </div>
    );
  const who = decider(review.decidedBy, me);
  const by =
    who.kind === 'you'
      ? t('detect.byYou', { name: me?.name || me?.email })
      : who.kind === 'unknown'
        ? t('none')
        : t(`detect.by.${who.kind}`, { id: who.id });
  return (
    <>
      <p role="status" className={`review-decided review-${review.status}`}>
        {t(`detect.decided.${review.status}`, {
          by,
          when: review.decidedAt ? new Date(review.decidedAt).toLocaleString(i18n.language) : t('none'),
        })}
      </p>
      {writer && (
        <div className="action-row">
          <button
            type="button"
            className="button"
            disabled={decide.isPending}
            onClick={() => decide.mutate(review.status === 'approved' ? 'reject' : 'approve')}
          >
            {review.status === 'approved' ? t('detect.changeToReject') : t('detect.changeToApprove')}
          </button>
        </div>
      )}
      {error}
    </>
  );
}

function Timings({ d }: { d: Detection }) {
  const { t, i18n } = useTranslation('video');
  const ms = (n: number | null | undefined) =>
    n == null
      ? t('none')
      : t('seconds', { value: (n / 1000).toLocaleString(i18n.language, { maximumFractionDigits: 1 }) });
  const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString(i18n.language) : t('none'));
  return (
    <div className="detect-section">
      <h3>{t('detect.timings')}</h3>
      <dl className="facts">
        <dt>{t('detect.requestedAt')}</dt>
        <dd>{when(d.requestedAt)}</dd>
        <dt>{t('detect.completedAt')}</dt>
        <dd>{when(d.completedAt)}</dd>
        <dt>{t('detect.qcTime')}</dt>
        <dd>{ms(d.timings?.qcMs)}</dd>
        <dt>{t('detect.moderationTime')}</dt>
        <dd>{ms(d.timings?.moderationMs)}</dd>
      </dl>
    </div>
  );
}

/** POST …/detect; the answer (status pending) makes the page poll until the run completes. */
function RunAgain({ v }: { v: Video }) {
  const { t } = useTranslation('video');
  const client = useQueryClient();
  const run = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST('/v1/videos/{id}/detect', { params: { path: { id: v.id } } })),
    onSuccess: (updated) => client.setQueryData(['video', v.id], updated),
  });
  const busy = run.isPending || DETECTING.has(v.detection?.status ?? '');
  return (
    <div className="detect-run">
      <button type="button" className="button" disabled={busy} onClick={() => run.mutate()}>
        {v.detection ? t('detect.runAgain') : t('detect.run')}
      </button>
      {run.error && (
        <p className="error" role="alert">
          {errorMessage(run.error, t)}
        </p>
      )}
    </div>
  );
}
