import type { Messages } from '../../i18n';

export const messages = {
  en: { title: 'Video' },
  'zh-CN': { title: '视频' },
} satisfies Messages;
