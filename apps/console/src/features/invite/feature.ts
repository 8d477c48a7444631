import type { Feature } from '../../app/feature';

export const feature: Feature = {
  id: 'invite',
  path: 'invite/:token',
  public: true,
  page: () => import('./InvitePage'),
};
