import type { Messages } from '../../i18n';

export const messages = {
  en: {
    title: 'Sign in',
    intro: 'Sign in to manage your videos.',
    email: 'Email',
    password: 'Password',
    submit: 'Sign in',
    submitting: 'Signing in…',
    wrong: 'The email or password is wrong.',
    lockedOut: 'Too many failed attempts. Try again in {{wait}}.',
    unavailable:
      'Signing in is not available on this server yet: it has no user accounts. Use an API key with the API or the CLI.',
    minutes: '{{count}} min',
    seconds: '{{count}} s',
  },
  'zh-CN': {
    title: '登录',
    intro: '登录以管理你的视频。',
    email: '邮箱',
    password: '密码',
    submit: '登录',
    submitting: '正在登录…',
    wrong: '邮箱或密码错误。',
    lockedOut: '失败次数过多，请在 {{wait}}后重试。',
    unavailable: '此服务器尚不支持登录：它还没有用户账户。请通过 API 或命令行使用 API 密钥。',
    minutes: '{{count}} 分钟',
    seconds: '{{count}} 秒',
  },
} satisfies Messages;
