import {
  Detection,
  DetectionPolicy,
  IdParams,
  ListQuery,
  listOf,
  ModerationQueueItem,
  Problem,
  UpdateDetectionPolicy,
  Video,
} from '@vodcloud/contracts';
import type { FastifyRequest } from 'fastify';
import { tenantOf } from '../../http/auth';
import { decodeCursor, page } from '../../http/pagination';
import type { ZodApp } from '../../http/types';
import { AppError } from '../../lib/errors';
import { type VideoService, videoView } from '../videos/service';
import type { DetectionPolicies } from './policy';
import type { ModerationReview } from './review';
import type { DetectionService } from './service';

export interface DetectionRouteDeps {
  detection: DetectionService;
  policies: DetectionPolicies;
  review: ModerationReview;
  videos: VideoService;
  /** The base URL of playback URLs in video objects (as the video routes use). */
  base: (req: FastifyRequest) => string;
}

/** Who decided: the signed-in user, else the API key. */
const deciderOf = (req: FastifyRequest): string | null => {
  const p = req.principal;
  if (!p) return null;
  return p.via === 'session' ? `user:${p.userId}` : `api_key:${p.keyId}`;
};

export function detectionRoutes(app: ZodApp, d: DetectionRouteDeps): void {
  app.post('/v1/videos/:id/detect', {
    config: { access: 'write', audit: 'video.detect' },
    schema: {
      operationId: 'detectVideo',
      tags: ['detection'],
      summary: 'Run detection (quality checks and moderation) again; the result arrives on the video',
      params: IdParams,
      response: { 202: Video, 409: Problem },
    },
    handler: async (req, reply) =>
      reply.code(202).send(videoView(await d.detection.request(tenantOf(req), req.params.id), d.base(req))),
  });

  app.get('/v1/videos/:id/detection', {
    config: { access: 'read' },
    schema: {
      operationId: 'getVideoDetection',
      tags: ['detection'],
      summary: 'The whole detection result of a video (every frame analysed)',
      params: IdParams,
      response: { 200: Detection },
    },
    handler: async (req) => {
      const row = await d.videos.getRow(tenantOf(req), req.params.id);
      if (!row.detection) throw new AppError('not_found', 'The video has no detection result yet');
      return JSON.parse(row.detection) as Detection;
    },
  });

  app.get('/v1/detection/policy', {
    config: { access: 'read' },
    schema: {
      operationId: 'getDetectionPolicy',
      tags: ['detection'],
      summary: "The tenant's detection policy (defaults until it is changed)",
      response: { 200: DetectionPolicy },
    },
    handler: async (req) => d.policies.get(tenantOf(req)),
  });

  app.patch('/v1/detection/policy', {
    config: { access: 'settings', audit: 'detection_policy.update' },
    schema: {
      operationId: 'updateDetectionPolicy',
      tags: ['detection'],
      summary: "Change the tenant's detection policy (omitted fields keep their value)",
      body: UpdateDetectionPolicy,
      response: { 200: DetectionPolicy },
    },
    handler: async (req) => d.policies.update(tenantOf(req), req.body),
  });

  app.get('/v1/moderation/queue', {
    config: { access: 'read' },
    schema: {
      operationId: 'listModerationQueue',
      tags: ['detection'],
      summary: 'Videos held for review by the moderation policy, oldest first',
      querystring: ListQuery,
      response: { 200: listOf(ModerationQueueItem) },
    },
    handler: async (req) => {
      const rows = await d.review.queue(tenantOf(req), req.query.limit, decodeCursor(req.query.cursor));
      const p = page(rows, req.query.limit);
      const base = d.base(req);
      return {
        data: p.rows.map((row) => {
          const v = videoView(row, base);
          const m = v.detection?.moderation;
          return {
            videoId: v.id,
            title: v.title,
            status: v.status,
            flaggedClasses: m?.flaggedClasses ?? [],
            max: m?.max ?? { porn: 0, sexy: 0, hentai: 0, drawing: 0, neutral: 0 },
            completedAt: v.detection?.completedAt ?? null,
          };
        }),
        nextCursor: p.nextCursor,
      };
    },
  });

  for (const [action, decision, summary] of [
    ['approve', 'approved', 'Approve a video held for review: it becomes playable'],
    ['reject', 'rejected', 'Reject a video held for review: it is blocked'],
  ] as const)
    app.post(`/v1/videos/:id/moderation/${action}`, {
      config: { access: 'write', audit: `video.moderation_${action}` },
      schema: {
        operationId: `${action}VideoModeration`,
        tags: ['detection'],
        summary,
        params: IdParams,
        response: { 200: Video, 409: Problem },
      },
      handler: async (req) =>
        videoView(await d.review.decide(tenantOf(req), req.params.id, decision, deciderOf(req)), d.base(req)),
    });
}
