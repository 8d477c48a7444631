import type { Messages } from '../../i18n';

export const messages = {
  en: { title: 'Admin' },
  'zh-CN': { title: '平台管理' },
} satisfies Messages;
