import { useTranslation } from 'react-i18next';
import { useCluster } from './cluster-query';
import { dateTime, formatUptime, number } from './format';
import { LiveNote } from './live';
import { ErrorBox } from './parts';

/** Every registered service and its instances: health, load, version, uptime, the sentinel's last check. */
export function Cluster() {
  const { t, i18n } = useTranslation('admin');
  const cluster = useCluster();
  const date = dateTime(i18n.language);
  const num = number(i18n.language, 2);
  const services = cluster.data?.services ?? [];
  // One node registers under each service it provides: count nodes once.
  const nodes = new Set(services.flatMap((s) => s.instances.map((i) => i.id))).size;
  return (
    <div className="admin-view">
      <div className="admin-view-head">
        <h2>{t('section.cluster')}</h2>
        <LiveNote updatedAt={cluster.dataUpdatedAt} />
      </div>
      {cluster.isError && !cluster.data ? (
        <ErrorBox error={cluster.error} retry={() => void cluster.refetch()} />
      ) : cluster.isPending ? (
        <p role="status">{t('common:loading')}</p>
      ) : (
        <>
          <p>
            {t('cluster.summary', { services: services.length, count: nodes })}{' '}
            {cluster.data.sentinels === 0 ? (
              <span className="muted">{t('cluster.noSentinel')}</span>
            ) : (
              t('cluster.sentinels', { count: cluster.data.sentinels })
            )}
          </p>
          {services.length === 0 && <p className="empty">{t('cluster.empty')}</p>}
          {services.map((s) => (
            <section key={s.name} className="admin-service" aria-labelledby={`svc-${s.name}`}>
              <h3 id={`svc-${s.name}`}>{s.name}</h3>
              <div className="table-wrap">
                <table className="videos admin-table">
                  <caption className="visually-hidden">{t('cluster.instancesOf', { name: s.name })}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('cluster.instance')}</th>
                      <th scope="col">{t('cluster.health')}</th>
                      <th scope="col" className="num">
                        {t('cluster.load')}
                      </th>
                      <th scope="col" className="hide-narrow">
                        {t('cluster.roles')}
                      </th>
                      <th scope="col" className="hide-narrow">
                        {t('cluster.version')}
                      </th>
                      <th scope="col" className="hide-narrow">
                        {t('cluster.uptime')}
                      </th>
                      <th scope="col" className="hide-narrow">
                        {t('cluster.checked')}
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.instances.map((i) => (
                      <tr key={i.id}>
                        <td>
                          <span className="admin-mono">{i.address}</span>
                          <div className="muted admin-id">{i.id}</div>
                        </td>
                        <td>
                          <span className={`status admin-health-${i.health.status}`}>
                            {t(`cluster.status.${i.health.status}`)}
                          </span>
                          {i.health.detail && <div className="muted">{i.health.detail}</div>}
                        </td>
                        <td className="num">{num.format(i.load)}</td>
                        <td className="hide-narrow">{i.roles.join(', ')}</td>
                        <td className="hide-narrow">{i.version ?? '—'}</td>
                        <td className="hide-narrow">{formatUptime(i.uptimeSec)}</td>
                        <td className="hide-narrow">
                          {i.health.checkedAt ? date.format(new Date(i.health.checkedAt)) : '—'}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
          ))}
        </>
      )}
    </div>
  );
}
