import type { Feature } from '../../app/feature';

export const feature: Feature = {
  id: 'upload',
  path: 'upload',
  nav: { order: 20, label: { en: 'Upload', 'zh-CN': '上传' } },
  requires: 'write',
  page: () => import('./UploadPage'),
};
