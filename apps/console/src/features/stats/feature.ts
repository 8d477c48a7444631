import type { Feature } from '../../app/feature';

export const feature: Feature = {
  id: 'stats',
  path: 'stats',
  nav: { order: 25, label: { en: 'Statistics', 'zh-CN': '统计' } },
  // The statistics are a tenant's own (any role); a platform admin without a tenant has none.
  requires: 'tenant',
  page: () => import('./StatsPage'),
};
