import { useTranslation } from 'react-i18next';
import { Navigate, NavLink, Route, Routes } from 'react-router';
import { registerMessages } from '../../i18n';
import { PageTitle } from '../../ui/PageTitle';
import { Alerts } from './Alerts';
import { Cluster } from './Cluster';
import { Monitor } from './Monitor';
import { messages } from './messages';
import { Queues } from './Queues';
import { TenantDetail } from './TenantDetail';
import { Tenants } from './Tenants';
import { Usage } from './Usage';
import './admin.css';

registerMessages('admin', messages);

const SECTIONS = ['tenants', 'usage', 'cluster', 'queues', 'monitor', 'alerts'] as const;

/** The platform admin's pages: tenants (quotas, owners, keys), their usage, the cluster, queues, RPC monitor, alerts. */
export default function AdminPage() {
  const { t } = useTranslation('admin');
  return (
    <section className="page admin">
      <PageTitle>{t('title')}</PageTitle>
      <nav aria-label={t('sections')} className="admin-tabs">
        <ul>
          {SECTIONS.map((s) => (
            <li key={s}>
              <NavLink to={`/admin/${s}`}>{t(`section.${s}`)}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <Routes>
        <Route index element={<Navigate to="tenants" replace />} />
        <Route path="tenants" element={<Tenants />} />
        <Route path="tenants/:id" element={<TenantDetail />} />
        <Route path="usage" element={<Usage />} />
        <Route path="cluster" element={<Cluster />} />
        <Route path="queues" element={<Queues />} />
        <Route path="monitor" element={<Monitor />} />
        <Route path="alerts" element={<Alerts />} />
        <Route path="*" element={<p role="alert">{t('common:notFound.body')}</p>} />
      </Routes>
    </section>
  );
}
