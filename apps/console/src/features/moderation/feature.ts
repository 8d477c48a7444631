import type { Feature } from '../../app/feature';

export const feature: Feature = {
  id: 'moderation',
  path: 'moderation',
  nav: { order: 22, label: { en: 'Moderation', 'zh-CN': '内容审核' } },
  // The review queue is a tenant's own (any role reads it; writers decide).
  requires: 'tenant',
  page: () => import('./ModerationPage'),
};
