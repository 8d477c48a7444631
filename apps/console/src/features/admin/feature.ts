import type { Feature } from '../../app/feature';

export const feature: Feature = {
  id: 'admin',
  path: 'admin',
  nav: { order: 40, label: { en: 'Admin', 'zh-CN': '平台管理' } },
  requires: 'platformAdmin',
  page: () => import('./AdminPage'),
};
