import type { Messages } from '../../i18n';

export const messages = {
  en: {
    title: 'Moderation',
    intro:
      'Videos the detection policy held for review, oldest first. A held video is not playable until it is approved; rejecting it blocks it.',
    policyLink: 'Change the detection policy',
    queue: 'Videos waiting for review',
    columns: {
      title: 'Title',
      flagged: 'Flagged classes',
      scores: 'Highest scores',
      detected: 'Detected',
      actions: 'Decision',
    },
    untitled: 'Untitled',
    empty: 'No videos are waiting for review.',
    approved: '“{{title}}” approved: it is playable now.',
    rejected: '“{{title}}” rejected: it is blocked.',
    previous: 'Previous',
    next: 'Next',
    page: 'Page {{n}}',
    pagination: 'Pages',
    readOnly: 'You can look, not decide: a member, admin or owner approves or rejects videos.',
  },
  'zh-CN': {
    title: '内容审核',
    intro: '检测策略扣留待审核的视频，最早的在前。视频在批准之前无法播放；拒绝则会屏蔽它。',
    policyLink: '修改检测策略',
    queue: '等待审核的视频',
    columns: {
      title: '标题',
      flagged: '标记的类别',
      scores: '最高分',
      detected: '检测时间',
      actions: '决定',
    },
    untitled: '无标题',
    empty: '没有等待审核的视频。',
    approved: '已批准“{{title}}”：现在可以播放。',
    rejected: '已拒绝“{{title}}”：它已被屏蔽。',
    previous: '上一页',
    next: '下一页',
    page: '第 {{n}} 页',
    pagination: '分页',
    readOnly: '你只能查看，不能决定：成员、管理员或所有者可以批准或拒绝视频。',
  },
} satisfies Messages;
