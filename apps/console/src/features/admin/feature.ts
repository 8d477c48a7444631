import type { Feature } from '../../app/feature';

export const feature: Feature = {
  id: 'admin',
  // Sub-routes: tenants, tenants/:id, usage, cluster, queues, monitor, alerts (AdminPage's own <Routes>).
  path: 'admin/*',
  nav: { order: 40, label: { en: 'Admin', 'zh-CN': '平台管理' } },
  requires: 'platformAdmin',
  page: () => import('./AdminPage'),
};
