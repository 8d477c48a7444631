import { useTranslation } from 'react-i18next';
import { useCluster } from './cluster-query';
import { number } from './format';
import { LiveNote } from './live';
import { ErrorBox } from './parts';

/** Jobs pending per job name in the queue store (waiting, delayed, running), with each name's resource class. */
export function Queues() {
  const { t, i18n } = useTranslation('admin');
  const cluster = useCluster();
  const num = number(i18n.language);
  const queues = cluster.data?.queues ?? [];
  const total = queues.reduce((n, q) => n + q.waiting + q.delayed + q.active, 0);
  return (
    <div className="admin-view">
      <div className="admin-view-head">
        <h2>{t('section.queues')}</h2>
        <LiveNote updatedAt={cluster.dataUpdatedAt} />
      </div>
      {cluster.isError && !cluster.data ? (
        <ErrorBox error={cluster.error} retry={() => void cluster.refetch()} />
      ) : cluster.isPending ? (
        <p role="status">{t('common:loading')}</p>
      ) : queues.length === 0 ? (
        <p className="empty">{t('queues.empty')}</p>
      ) : (
        <>
          <p>{t('queues.summary', { count: total })}</p>
          <div className="table-wrap">
            <table className="videos admin-table">
              <caption className="visually-hidden">{t('section.queues')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('queues.job')}</th>
                  <th scope="col" className="hide-narrow">
                    {t('queues.class')}
                  </th>
                  <th scope="col" className="num">
                    {t('queues.waiting')}
                  </th>
                  <th scope="col" className="num">
                    {t('queues.delayed')}
                  </th>
                  <th scope="col" className="num">
                    {t('queues.active')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {queues.map((q) => (
                  <tr key={q.name} className={q.waiting + q.delayed + q.active ? '' : 'admin-idle'}>
                    <td className="admin-mono">{q.name}</td>
                    <td className="hide-narrow">
                      {q.queue ? t(`queues.classes.${q.queue}`) : t('queues.unknownClass')}
                    </td>
                    <td className="num">{num.format(q.waiting)}</td>
                    <td className="num">{num.format(q.delayed)}</td>
                    <td className="num">{num.format(q.active)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
