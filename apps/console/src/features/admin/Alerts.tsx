import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { dateTime, number } from './format';
import { LiveNote, useLiveQuery } from './live';
import { useCursorPages } from './paging';
import { ErrorBox, Pager } from './parts';

type State = 'open' | 'resolved';

/** The sentinel's alerts: the open ones, and the recently resolved ones (paged). */
export function Alerts() {
  const { t } = useTranslation('admin');
  return (
    <div className="admin-view">
      <h2>{t('section.alerts')}</h2>
      <AlertList state="open" />
      <AlertList state="resolved" />
    </div>
  );
}

function AlertList({ state }: { state: State }) {
  const { t, i18n } = useTranslation('admin');
  const pages = useCursorPages();
  const alerts = useLiveQuery(['admin', 'alerts', state, pages.cursor], async () =>
    unwrap(
      await api.GET('/v1/admin/alerts', {
        params: { query: { state, limit: 25, ...(pages.cursor ? { cursor: pages.cursor } : {}) } },
      }),
    ),
  );
  const date = dateTime(i18n.language);
  const num = number(i18n.language, 2);
  const rows = alerts.data?.data ?? [];
  const headId = `alerts-${state}`;
  return (
    <section aria-labelledby={headId} className="admin-alerts">
      <div className="admin-view-head">
        <h3 id={headId}>{t(`alerts.${state}`)}</h3>
        {state === 'open' && <LiveNote updatedAt={alerts.dataUpdatedAt} />}
      </div>
      {alerts.isError && !alerts.data ? (
        <ErrorBox error={alerts.error} retry={() => void alerts.refetch()} />
      ) : alerts.isPending ? (
        <p role="status">{t('common:loading')}</p>
      ) : rows.length === 0 && !pages.hasPrevious ? (
        <p className="empty">{t(`alerts.empty.${state}`)}</p>
      ) : (
        <div className="table-wrap">
          <table className="videos admin-table">
            <caption className="visually-hidden">{t(`alerts.${state}`)}</caption>
            <thead>
              <tr>
                <th scope="col">{t('alerts.severity')}</th>
                <th scope="col">{t('alerts.message')}</th>
                <th scope="col" className="num hide-narrow">
                  {t('alerts.value')}
                </th>
                <th scope="col">{t('alerts.opened')}</th>
                <th scope="col" className="hide-narrow">
                  {state === 'open' ? t('alerts.lastSeen') : t('alerts.resolvedAt')}
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <tr key={a.id}>
                  <td>
                    <span className={`status admin-sev-${a.severity}`}>{t(`alerts.sev.${a.severity}`)}</span>
                  </td>
                  <td>
                    {a.message}
                    <div className="muted admin-mono">
                      {a.rule} · {a.subject}
                    </div>
                  </td>
                  <td className="num hide-narrow">
                    {a.value === null ? '—' : num.format(a.value)}
                    {a.threshold === null ? '' : ` / ${num.format(a.threshold)}`}
                  </td>
                  <td>{date.format(new Date(a.openedAt))}</td>
                  <td className="hide-narrow">
                    {date.format(new Date(state === 'open' ? a.lastSeenAt : (a.resolvedAt ?? a.lastSeenAt)))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        label={t(`alerts.${state}`)}
        number={pages.number}
        hasPrevious={pages.hasPrevious}
        nextCursor={alerts.data?.nextCursor}
        onPrevious={pages.previous}
        onNext={pages.next}
      />
    </section>
  );
}
