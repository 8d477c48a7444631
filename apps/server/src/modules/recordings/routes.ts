import {
  CreatedRecordingHook,
  CreateRecording,
  CreateRecordingHook,
  IdParams,
  ListQuery,
  listOf,
  NoContent,
  Problem,
  Recording,
  RecordingHook,
  RecordingListQuery,
} from '@vodcloud/contracts';
import { tenantOf } from '../../http/auth';
import { decodeCursor, page } from '../../http/pagination';
import type { ZodApp } from '../../http/types';
import type { RecordingHooks } from './hooks';
import type { RecordingService } from './service';

export interface RecordingRouteDeps {
  hooks: RecordingHooks;
  recordings: RecordingService;
  /** The URL recorders reach this platform at (VOD_PUBLIC_URL), else the request's own. */
  publicUrl?: string;
}

/** The API of live recordings: hooks (for recorders) and recordings. */
export function recordingRoutes(app: ZodApp, d: RecordingRouteDeps): void {
  app.post('/v1/recording-hooks', {
    config: { access: 'settings', audit: 'recording_hook.create' },
    schema: {
      operationId: 'createRecordingHook',
      tags: ['recordings'],
      summary: 'Create a hook for a recording server; its token is shown only in this response',
      description:
        "nginxRtmpUrl goes in nginx-rtmp's on_record_done (on_publish and on_publish_done may name the same URL: " +
        'a stream then stays one recording while it is live, however the recorder splits it); srsUrl in SRS’s ' +
        'on_dvr (and on_publish / on_unpublish). Parts of one stream within reconnectWindowSec become one video.',
      body: CreateRecordingHook,
      response: { 201: CreatedRecordingHook, 400: Problem },
    },
    handler: async (req, reply) =>
      reply
        .code(201)
        .send(await d.hooks.create(tenantOf(req), req.body, d.publicUrl ?? `${req.protocol}://${req.host}`)),
  });
  app.get('/v1/recording-hooks', {
    config: { access: 'settings' },
    schema: {
      operationId: 'listRecordingHooks',
      tags: ['recordings'],
      summary: 'List recording hooks (tokens are never listed)',
      querystring: ListQuery,
      response: { 200: listOf(RecordingHook) },
    },
    handler: async (req) => {
      const p = page(
        await d.hooks.list(tenantOf(req), req.query.limit, decodeCursor(req.query.cursor)),
        req.query.limit,
      );
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });
  app.get('/v1/recording-hooks/:id', {
    config: { access: 'settings' },
    schema: {
      operationId: 'getRecordingHook',
      tags: ['recordings'],
      summary: 'Get a recording hook',
      params: IdParams,
      response: { 200: RecordingHook },
    },
    handler: async (req) => d.hooks.get(tenantOf(req), req.params.id),
  });
  app.delete('/v1/recording-hooks/:id', {
    config: { access: 'settings', audit: 'recording_hook.delete' },
    schema: {
      operationId: 'deleteRecordingHook',
      tags: ['recordings'],
      summary: 'Delete a recording hook: its token stops working at once',
      params: IdParams,
      response: { 204: NoContent },
    },
    handler: async (req, reply) => {
      await d.hooks.delete(tenantOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  });
  app.post('/v1/recordings', {
    config: { access: 'write', audit: 'recording.create' },
    schema: {
      operationId: 'createRecording',
      tags: ['recordings'],
      summary: 'Import a live recording by URL (FLV, MP4, MPEG-TS or an HLS playlist, live ones included)',
      description:
        'The video is created at once (videoId); the URL is fetched under the URL-import rules (private ' +
        'addresses refused). A playlist without #EXT-X-ENDLIST is followed until it ends or stops changing ' +
        '(VOD_RECORDING_HLS_IDLE_SEC), at most VOD_RECORDING_HLS_WAIT_SEC. recording.imported is sent once stored.',
      body: CreateRecording,
      response: { 201: Recording, 400: Problem },
    },
    handler: async (req, reply) =>
      reply.code(201).send(await d.recordings.createFromUrl(tenantOf(req), req.body)),
  });
  app.get('/v1/recordings', {
    config: { access: 'read' },
    schema: {
      operationId: 'listRecordings',
      tags: ['recordings'],
      summary: 'List recordings, newest first',
      querystring: RecordingListQuery,
      response: { 200: listOf(Recording) },
    },
    handler: async (req) => {
      const { limit, cursor, ...filter } = req.query;
      const p = page(await d.recordings.list(tenantOf(req), filter, limit, decodeCursor(cursor)), limit);
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });
  app.get('/v1/recordings/:id', {
    config: { access: 'read' },
    schema: {
      operationId: 'getRecording',
      tags: ['recordings'],
      summary: 'Get a recording',
      params: IdParams,
      response: { 200: Recording },
    },
    handler: async (req) => d.recordings.get(tenantOf(req), req.params.id),
  });
}
