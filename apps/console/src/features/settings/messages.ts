import type { Messages } from '../../i18n';

export const messages = {
  en: { title: 'Settings' },
  'zh-CN': { title: '设置' },
} satisfies Messages;
