import type { Feature } from '../../app/feature';

export const feature: Feature = {
  id: 'video',
  path: 'videos/:id',
  page: () => import('./VideoPage'),
};
