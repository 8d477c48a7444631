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
      operationId: 'createVideo',
      tags: ['videos'],
      summary: 'Import a video from an http(s) URL',
      body: CreateVideo,
      response: { 201: Video },
    },
    handler: async (req, reply) =>
      reply.code(201).send(videoView(await videos.createFromUrl(tenantOf(req), req.body), base(req))),
  });
  app.get('/v1/videos', {
    config: { access: 'read' },
    schema: {
      operationId: 'listVideos',
      tags: ['videos'],
      summary: 'List videos, newest first',
      querystring: VideoListQuery,
      response: { 200: listOf(Video) },
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
      operationId: 'getVideo',
      tags: ['videos'],
      summary: 'Get a video',
      params: IdParams,
      response: { 200: Video },
    },
    handler: async (req) => videoView(await videos.getRow(tenantOf(req), req.params.id), base(req)),
  });
  app.patch('/v1/videos/:id', {
    config: { access: 'write', audit: 'video.update' },
    schema: {
      operationId: 'updateVideo',
      tags: ['videos'],
      summary: 'Change a video',
      params: IdParams,
      body: UpdateVideo,
      response: { 200: Video },
    },
    handler: async (req) => videoView(await videos.update(tenantOf(req), req.params.id, req.body), base(req)),
  });
  app.delete('/v1/videos/:id', {
    config: { access: 'write', audit: 'video.delete' },
    schema: {
      operationId: 'deleteVideo',
      tags: ['videos'],
      summary: 'Delete a video and its objects',
      params: IdParams,
      response: { 204: NoContent },
    },
    handler: async (req, reply) => {
      await videos.delete(tenantOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  });
  app.post('/v1/videos/batch-delete', {
    config: { access: 'write', audit: 'video.batch_delete' },
    schema: {
      operationId: 'batchDeleteVideos',
      tags: ['videos'],
      summary: 'Delete several videos',
      body: BatchDelete,
      response: { 200: BatchDeleteResult },
    },
    handler: async (req) => videos.batchDelete(tenantOf(req), req.body.ids),
  });
  app.post('/v1/videos/:id/retranscode', {
    config: { access: 'write', audit: 'video.retranscode' },
    schema: {
      operationId: 'retranscodeVideo',
      tags: ['videos'],
      summary:
        'Transcode again with another template; the current outputs keep playing until the new ones are published',
      params: IdParams,
      body: Retranscode,
      response: { 202: Video, 409: Problem },
    },
    handler: async (req, reply) =>
      reply
        .code(202)
        .send(
          videoView(await videos.retranscode(tenantOf(req), req.params.id, req.body.templateId), base(req)),
        ),
  });

  for (const [action, summary] of [
    ['block', 'Block a video: it is not played'],
    ['unblock', 'Unblock a video'],
  ] as const)
    app.post(`/v1/videos/:id/${action}`, {
      config: { access: 'write', audit: `video.${action}` },
      schema: {
        operationId: `${action}Video`,
        tags: ['videos'],
        summary,
        params: IdParams,
        response: { 200: Video },
      },
      handler: async (req) => videoView(await videos[action](tenantOf(req), req.params.id), base(req)),
    });
}
