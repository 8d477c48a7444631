import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { components } from '@vodcloud/sdk';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { canWrite } from '../../app/roles';
import { useSession } from '../../app/session';
import { registerMessages } from '../../i18n';
import { PageTitle } from '../../ui/PageTitle';
import {
  type CursorStack,
  FIRST_PAGE,
  hasPrevious,
  nextPage,
  pageNumber,
  previousPage,
} from '../library/cursor-stack';
import { CLASSES } from '../video/detection-format';
import { messages as videoMessages } from '../video/messages';
import { ScoreBars } from '../video/ScoreBars';
import { messages } from './messages';
import './moderation.css';

registerMessages('moderation', messages);
// The class names and the score bars' strings are the video page's.
registerMessages('video', videoMessages);

type Item = components['schemas']['ModerationQueueItem'];
const PAGE_SIZE = 25;

/** The review queue: videos the detection policy held, with approve and reject for writers. */
export default function ModerationPage() {
  const { t } = useTranslation('moderation');
  const writer = canWrite(useSession().data?.user);
  const client = useQueryClient();
  const [stack, setStack] = useState<CursorStack>(FIRST_PAGE);
  const [notice, setNotice] = useState('');
  const list = useQuery({
    queryKey: ['moderation', 'queue', stack.current],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/moderation/queue', {
          params: { query: { limit: PAGE_SIZE, ...(stack.current ? { cursor: stack.current } : {}) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const decide = useMutation({
    mutationFn: async ({ item, action }: { item: Item; action: 'approve' | 'reject' }) => {
      const params = { params: { path: { id: item.videoId } } };
      return action === 'approve'
        ? unwrap(await api.POST('/v1/videos/{id}/moderation/approve', params))
        : unwrap(await api.POST('/v1/videos/{id}/moderation/reject', params));
    },
    onSuccess: (video, { item, action }) => {
      client.setQueryData(['video', item.videoId], video);
      setNotice(t(action === 'approve' ? 'approved' : 'rejected', { title: item.title || t('untitled') }));
      // The last row of a later page: go back to the first one.
      if ((list.data?.data.length ?? 0) <= 1 && hasPrevious(stack)) setStack(FIRST_PAGE);
    },
    onSettled: () => client.invalidateQueries({ queryKey: ['moderation'] }),
  });
  const rows = list.data?.data ?? [];
  const nextCursor = list.data?.nextCursor ?? null;
  return (
    <section className="page moderation-page">
      <PageTitle>{t('title')}</PageTitle>
      <p className="muted intro">
        {t('intro')} <Link to="/settings/detection">{t('policyLink')}</Link>
      </p>
      {!writer && (
        <p className="role-note" role="note">
          {t('readOnly')}
        </p>
      )}
      <p role="status" className="notice">
        {notice}
      </p>
      {decide.error && (
        <p className="error" role="alert">
          {errorMessage(decide.error, t)}
        </p>
      )}
      {list.isError ? (
        <div className="error-box" role="alert">
          <p>{errorMessage(list.error, t)}</p>
          <button type="button" className="button" onClick={() => void list.refetch()}>
            {t('common:retry')}
          </button>
        </div>
      ) : list.isPending ? (
        <p role="status">{t('common:loading')}</p>
      ) : rows.length === 0 && !hasPrevious(stack) ? (
        <p className="empty">{t('empty')}</p>
      ) : (
        <QueueTable
          rows={rows}
          writer={writer}
          busy={decide.isPending ? decide.variables?.item.videoId : undefined}
          onDecide={(item, action) => {
            setNotice('');
            decide.mutate({ item, action });
          }}
        />
      )}
      {(hasPrevious(stack) || nextCursor) && (
        <nav className="pager" aria-label={t('pagination')}>
          <button
            type="button"
            className="button"
            disabled={!hasPrevious(stack)}
            onClick={() => setStack(previousPage(stack))}
          >
            {t('previous')}
          </button>
          <span aria-live="polite">{t('page', { n: pageNumber(stack) })}</span>
          <button
            type="button"
            className="button"
            disabled={!nextCursor || list.isPlaceholderData}
            onClick={() => nextCursor && setStack(nextPage(stack, nextCursor))}
          >
            {t('next')}
          </button>
        </nav>
      )}
    </section>
  );
}

function QueueTable(props: {
  rows: Item[];
  writer: boolean;
  busy: string | undefined;
  onDecide: (item: Item, action: 'approve' | 'reject') => void;
}) {
  const { t, i18n } = useTranslation('moderation');
  const { t: tv } = useTranslation('video');
  const date = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' });
  return (
    <div className="table-wrap">
      <table className="videos moderation-queue">
        <caption className="visually-hidden">{t('queue')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('columns.title')}</th>
            <th scope="col" className="hide-narrow">
              {t('columns.flagged')}
            </th>
            <th scope="col">{t('columns.scores')}</th>
            <th scope="col" className="hide-narrow">
              {t('columns.detected')}
            </th>
            {props.writer && <th scope="col">{t('columns.actions')}</th>}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((item) => {
            const title = item.title || t('untitled');
            return (
              <tr key={item.videoId}>
                <td className="title-cell">
                  <Link to={`/videos/${encodeURIComponent(item.videoId)}`}>{title}</Link>
                </td>
                <td className="hide-narrow">
                  <span className="flag-list">
                    {item.flaggedClasses.map((c) => (
                      <span key={c} className="flag-tag">
                        {tv(`detect.classes.${c}`)}
                      </span>
                    ))}
                  </span>
                </td>
                <td>
                  <ScoreBars
                    scores={item.max}
                    flagged={item.flaggedClasses}
                    only={item.flaggedClasses.length ? item.flaggedClasses : CLASSES}
                    compact
                  />
                </td>
                <td className="hide-narrow">
                  {item.completedAt ? (
                    <time dateTime={item.completedAt}>{date.format(new Date(item.completedAt))}</time>
                  ) : (
                    '—'
                  )}
                </td>
                {props.writer && (
                  <td className="decide-cell">
                    <button
                      type="button"
                      className="button small primary"
                      aria-label={tv('detect.approveLabel', { title })}
                      disabled={props.busy === item.videoId}
                      onClick={() => props.onDecide(item, 'approve')}
                    >
                      {tv('detect.approve')}
                    </button>
                    <button
                      type="button"
                      className="button small danger"
                      aria-label={tv('detect.rejectLabel', { title })}
                      disabled={props.busy === item.videoId}
                      onClick={() => props.onDecide(item, 'reject')}
                    >
                      {tv('detect.reject')}
                    </button>
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
