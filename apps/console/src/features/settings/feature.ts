import type { Feature } from '../../app/feature';

export const feature: Feature = {
  id: 'settings',
  // Sub-pages (templates, categories, webhooks, keys, referrers, members, account) are routed inside the page.
  path: 'settings/*',
  nav: { order: 30, label: { en: 'Settings', 'zh-CN': '设置' } },
  page: () => import('./SettingsPage'),
};
