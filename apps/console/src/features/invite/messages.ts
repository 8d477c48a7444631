import type { Messages } from '../../i18n';

export const messages = {
  en: {
    titleInvite: 'Join {{tenant}}',
    titleReset: 'Choose a new password',
    invited: '{{email}} is invited to {{tenant}} as {{role}}.',
    reset: 'Set a new password for {{email}} ({{tenant}}).',
    expires: 'This link expires {{when}}.',
    name: 'Your name (optional)',
    password: 'New password',
    confirm: 'Confirm the password',
    mismatch: 'The two passwords differ.',
    submitInvite: 'Accept and sign in',
    submitReset: 'Save and sign in',
    submitting: 'Saving…',
    invalid: 'This link is not valid, or it has expired or been used. Ask for a new one.',
  },
  'zh-CN': {
    titleInvite: '加入 {{tenant}}',
    titleReset: '设置新密码',
    invited: '{{email}} 受邀以{{role}}身份加入 {{tenant}}。',
    reset: '为 {{email}}（{{tenant}}）设置新密码。',
    expires: '此链接将于 {{when}} 过期。',
    name: '你的名字（可选）',
    password: '新密码',
    confirm: '确认密码',
    mismatch: '两次输入的密码不一致。',
    submitInvite: '接受并登录',
    submitReset: '保存并登录',
    submitting: '正在保存…',
    invalid: '此链接无效、已过期或已被使用，请索取新的链接。',
  },
} satisfies Messages;
