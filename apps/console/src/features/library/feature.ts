import type { Feature } from '../../app/feature';

export const feature: Feature = {
  id: 'library',
  path: 'library',
  nav: { order: 10, label: { en: 'Library', 'zh-CN': '视频库' } },
  page: () => import('./LibraryPage'),
};
