import type { Messages } from '../../i18n';

export const messages = {
  en: { title: 'Upload' },
  'zh-CN': { title: '上传' },
} satisfies Messages;
