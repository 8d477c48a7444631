import {
  BatchDelete,
  BatchDeleteResult,
  CreateVideo,
  IdParams,
  listOf,
  NoContent,
  Problem,
  Retranscode,
  UpdateVideo,
  Video,
  VideoListQuery,
} from '@vodcloud/contracts';
import type { FastifyRequest } from 'fastify';
import { tenantOf } from '../../http/auth';
import { baseUrlFor } from '../../http/base-url';
import { decodeCursor, page } from '../../http/pagination';
import type { ZodApp } from '../../http/types';
import { type VideoService, videoView } from './service';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem };

/** `playback`: the base URL of playback URLs (see cluster/node.ts playbackBase); default the public or request URL. */
export function videoRoutes(
  app: ZodApp,
  videos: VideoService,
  publicUrl: string | undefined,
  playback?: (req: FastifyRequest) => string,
): void {
  const base = playback ?? baseUrlFor(publicUrl);

  app.post('/v1/videos', {
    config: { access: 'write', audit: 'video.create' },
    schema: {
      tags: ['videos'],
      summary: 'Import a video from an http(s) URL',
      body: CreateVideo,
      response: { 201: Video, ...errors },
    },
    handler: async (req, reply) =>
      reply.code(201).send(videoView(await videos.createFromUrl(tenantOf(req), req.body), base(req))),
  });
  app.get('/v1/videos', {
    config: { access: 'read' },
    schema: {
      tags: ['videos'],
      summary: 'List videos, newest first',
      querystring: VideoListQuery,
      response: { 200: listOf(Video), ...errors },
    },
    handler: async (req) => {
      const { limit, cursor, ...filter } = req.query;
      const p = page(await videos.list(tenantOf(req), filter, limit, decodeCursor(cursor)), limit);
      const b = base(req);
      return { data: p.rows.map((r) => videoView(r, b)), nextCursor: p.nextCursor };
    },
  });
  app.get('/v1/videos/:id', {
    config: { access: 'read' },
    schema: {
      tags: ['videos'],
      summary: 'Get a video',
      params: IdParams,
      response: { 200: Video, ...errors },
    },
    handler: async (req) => videoView(await videos.getRow(tenantOf(req), req.params.id), base(req)),
  });
  app.patch('/v1/videos/:id', {
    config: { access: 'write', audit: 'video.update' },
    schema: {
      tags: ['videos'],
      summary: 'Change a video',
      params: IdParams,
      body: UpdateVideo,
      response: { 200: Video, ...errors },
    },
    handler: async (req) => videoView(await videos.update(tenantOf(req), req.params.id, req.body), base(req)),
  });
  app.delete('/v1/videos/:id', {
    config: { access: 'write', audit: 'video.delete' },
    schema: {
      tags: ['videos'],
      summary: 'Delete a video and its objects',
      params: IdParams,
      response: { 204: NoContent, ...errors },
    },
    handler: async (req, reply) => {
      await videos.delete(tenantOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  });
  app.post('/v1/videos/batch-delete', {
    config: { access: 'write', audit: 'video.batch_delete' },
    schema: {
      tags: ['videos'],
      summary: 'Delete several videos',
      body: BatchDelete,
      response: { 200: BatchDeleteResult, ...errors },
    },
    handler: async (req) => videos.batchDelete(tenantOf(req), req.body.ids),
  });
  app.post('/v1/videos/:id/retranscode', {
    config: { access: 'write', audit: 'video.retranscode' },
    schema: {
      tags: ['videos'],
      summary:
        'Transcode again with another template; the current outputs keep playing until the new ones are published',
      params: IdParams,
      body: Retranscode,
      response: { 202: Video, ...errors },
    },
    handler: async (req, reply) =>
      reply
        .code(202)
        .send(
          videoView(await videos.retranscode(tenantOf(req), req.params.id, req.body.templateId), base(req)),
        ),
  });

  app.post('/v1/videos/:id/block', {
    config: { access: 'write', audit: 'video.block' },
    schema: {
      tags: ['videos'],
      summary: 'Block a video: it is not played',
      params: IdParams,
      response: { 200: Video, ...errors },
    },
    handler: async (req) => videoView(await videos.block(tenantOf(req), req.params.id), base(req)),
  });
  app.post('/v1/videos/:id/unblock', {
    config: { access: 'write', audit: 'video.unblock' },
    schema: {
      tags: ['videos'],
      summary: 'Unblock a video',
      params: IdParams,
      response: { 200: Video, ...errors },
    },
    handler: async (req) => videoView(await videos.unblock(tenantOf(req), req.params.id), base(req)),
  });
}
