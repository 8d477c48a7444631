import type { Feature } from '../../app/feature';

export const feature: Feature = {
  id: 'settings',
  path: 'settings',
  nav: { order: 30, label: { en: 'Settings', 'zh-CN': '设置' } },
  page: () => import('./SettingsPage'),
};
