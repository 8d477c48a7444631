import { CreatedUpload, CreateUpload, IdParams, Problem, Upload } from '@vodcloud/contracts';
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
import { tenantOf } from '../../http/auth';
import { baseUrlFor } from '../../http/base-url';
import { binary } from '../../http/openapi';
import type { ZodApp } from '../../http/types';
import { AppError } from '../../lib/errors';
import type { Registry } from '../../ports/registry';
import type { AuditConfig } from '../audit';
import { healthyInstances, leastLoaded, serviceOf } from '../cluster';
import type { UploadService } from './service';
import { TUS_PATH, uploadView } from './service';
import type { TusHandle } from './tus';

export interface UploadRouteDeps {
  uploads: UploadService;
  registry: Registry;
  publicUrl?: string;
  /** This node's id and whether it serves uploads itself. */
  self: { id?: string; servesUploads: boolean };
  /** Present on nodes with the upload role: reads live offsets from the tus store. */
  tus?: TusHandle;
}

export function uploadRoutes(app: ZodApp, d: UploadRouteDeps): void {
  const base = baseUrlFor(d.publicUrl);
  // Track the upload nodes from now on: the registry's first list() of a service only starts watching it
  // (and returns []), so without this an API-only node answers its first POST /v1/uploads with 503.
  d.registry.list(serviceOf('upload'));

  /**
   * LBS: the least-loaded healthy upload node (equally loaded ones chosen at random by weight, see
   * cluster/node.ts leastLoaded), or this node when it is the only one (or none is registered yet).
   */
  const uploadBase = (req: FastifyRequest): string => {
    const chosen = leastLoaded(healthyInstances(d.registry, 'upload'));
    if (!chosen || chosen.id === d.self.id) {
      if (!d.self.servesUploads && !chosen)
        throw new AppError('unavailable', 'No upload node is available; retry later');
      return base(req);
    }
    return String(chosen.metadata.uploadUrl ?? chosen.metadata.url ?? base(req));
  };

  const offsetOf = async (row: { status: string; tus_id: string; size: number | null }) => {
    if (row.status === 'complete') return Number(row.size ?? 0);
    if (row.status !== 'uploading' || !d.tus) return 0;
    try {
      return (await d.tus.datastore.getUpload(row.tus_id)).offset;
    } catch {
      return 0;
    }
  };

  app.post('/v1/uploads', {
    config: { access: 'write', audit: 'upload.create' },
    schema: {
      operationId: 'createUpload',
      tags: ['uploads'],
      summary: 'Create a video and a resumable (tus 1.0) upload for it',
      description:
        'Returns a tus creation endpoint on an upload node and the headers (an upload token) to send on every tus request.',
      body: CreateUpload,
      response: { 201: CreatedUpload, 413: Problem, 503: Problem },
    },
    handler: async (req, reply) => {
      const url = `${uploadBase(req)}${TUS_PATH}`;
      const { row, token } = await d.uploads.create(tenantOf(req), req.body);
      return reply.code(201).send({
        id: row.id,
        status: 'waiting' as const,
        videoId: row.video_id,
        url,
        headers: { Authorization: `Bearer ${token}` },
        maxSizeBytes: Number(row.max_size_bytes),
        expiresAt: row.expires_at,
      });
    },
  });

  app.get('/v1/uploads/:id', {
    config: { access: 'read' },
    schema: {
      operationId: 'getUpload',
      tags: ['uploads'],
      summary: 'Status and offset of an upload',
      params: IdParams,
      response: { 200: Upload },
    },
    handler: async (req) => {
      const row = await d.uploads.get(tenantOf(req), req.params.id);
      return uploadView(row, await offsetOf(row));
    },
  });

  app.delete('/v1/uploads/:id', {
    config: { access: 'write', audit: 'upload.cancel' },
    schema: {
      operationId: 'cancelUpload',
      tags: ['uploads'],
      summary: 'Cancel an unfinished upload; its partial data and placeholder video are removed',
      params: IdParams,
      response: { 200: Upload, 409: Problem },
    },
    handler: async (req) => {
      const row = await d.uploads.cancel(tenantOf(req), req.params.id, async (tusId) => {
        await d.tus?.remove(tusId);
      });
      return uploadView(row, 0);
    },
  });
}

/** Mounts the tus endpoint: bodies stream untouched to the tus server. */
export async function tusRoutes(app: FastifyInstance, tus: TusHandle): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
    const handler = async (
      req: FastifyRequest,
      reply: { hijack(): void; raw: import('node:http').ServerResponse },
    ) => {
      reply.hijack();
      await tus.handle(req.raw, reply.raw, String(req.id));
    };
    // Audited: an upload's creation and its termination; not each chunk.
    const audit: Record<string, AuditConfig | undefined> = {
      POST: { action: 'tus.create', target: 'upload' },
      DELETE: { action: 'tus.terminate', target: 'upload' },
      PATCH: { skip: 'upload chunks: the creation (tus.create) is recorded, and the completion is an event' },
    };
    // tus answers its own CORS (including preflights), with the tus headers exposed.
    for (const url of [TUS_PATH, `${TUS_PATH}/*`])
      for (const method of ['POST', 'PATCH', 'HEAD', 'DELETE', 'OPTIONS'] as const) {
        const doc = tusDoc(method, url === TUS_PATH ? 'creation' : 'upload');
        scope.route({
          method,
          url,
          // HEAD /tus/{uploadId} is an operation of its own (the offset), so the document shows it.
          config: { cors: false, audit: audit[method], swagger: { exposeHeadRoute: doc !== undefined } },
          schema: doc ?? { hide: true },
          handler: handler as never,
        });
      }
  });
}

const TUS_HEADERS = {
  'Tus-Resumable': { description: 'The tus version: `1.0.0`', schema: { type: 'string', enum: ['1.0.0'] } },
};
const UPLOAD_ID = { uploadId: 'The upload: `{tenantId}.{videoId}`, as in the `Location` of its creation' };
const TUS_ERRORS = [400, 401, 403, 404, 409, 410, 412, 413, 415];

/**
 * The document's description of a tus request (tus 1.0: core, creation, creation-with-upload, termination,
 * expiration); undefined for the method and path pairs tus does not use (left out of the document).
 * Authorised by the upload token (`headers` of POST /v1/uploads) or a write API key.
 */
function tusDoc(method: string, on: 'creation' | 'upload'): FastifySchema | undefined {
  const base = { tags: ['uploads'], security: [{ apiKey: [] }] };
  const plainErrors = true;
  if (on === 'creation' && method === 'POST')
    return {
      ...base,
      operationId: 'tusCreateUpload',
      summary: 'tus: create the upload (optionally with its first bytes)',
      doc: {
        headers: {
          ...TUS_HEADERS,
          'Upload-Length': { description: 'The size in bytes', schema: { type: 'integer', minimum: 1 } },
          'Upload-Metadata': {
            description: 'tus metadata: `filename`, and with an API key the video fields',
          },
        },
        body: { content: { 'application/offset+octet-stream': binary } },
        responses: {
          201: { description: 'Created', headers: { Location: { description: 'The upload URL' } } },
        },
        errors: TUS_ERRORS,
        plainErrors,
      },
    };
  if (on === 'creation' && method === 'OPTIONS')
    return {
      ...base,
      security: [],
      operationId: 'tusOptions',
      summary: 'tus: the versions, extensions and maximum size the server supports',
      doc: { responses: { 204: { description: 'The `Tus-*` headers' } } },
    };
  if (on !== 'upload') return undefined;
  const params = UPLOAD_ID;
  if (method === 'HEAD')
    return {
      ...base,
      operationId: 'tusGetOffset',
      summary: 'tus: the offset of an upload (where to resume)',
      doc: {
        wildcard: 'uploadId',
        params,
        headers: TUS_HEADERS,
        responses: {
          200: {
            description: 'The offset',
            headers: {
              'Upload-Offset': { description: 'Bytes received' },
              'Upload-Length': { description: 'The size' },
            },
          },
        },
        errors: [403, 404, 410, 412],
        plainErrors,
      },
    };
  if (method === 'PATCH')
    return {
      ...base,
      operationId: 'tusAppendChunk',
      summary: 'tus: send bytes from the offset',
      doc: {
        wildcard: 'uploadId',
        params,
        headers: {
          ...TUS_HEADERS,
          'Upload-Offset': {
            description: 'The offset this chunk starts at',
            schema: { type: 'integer', minimum: 0 },
          },
        },
        body: { content: { 'application/offset+octet-stream': binary } },
        responses: {
          204: { description: 'Stored', headers: { 'Upload-Offset': { description: 'The new offset' } } },
        },
        errors: TUS_ERRORS,
        plainErrors,
      },
    };
  if (method === 'DELETE')
    return {
      ...base,
      operationId: 'tusTerminateUpload',
      summary: 'tus: terminate an unfinished upload',
      doc: {
        wildcard: 'uploadId',
        params,
        headers: TUS_HEADERS,
        responses: { 204: { description: 'Terminated' } },
        errors: TUS_ERRORS,
        plainErrors,
      },
    };
  if (method === 'OPTIONS')
    return {
      ...base,
      security: [],
      operationId: 'tusUploadOptions',
      summary: 'tus: CORS preflight and capabilities of an upload URL',
      doc: {
        wildcard: 'uploadId',
        params,
        responses: { 204: { description: 'The `Tus-*` and CORS headers' } },
      },
    };
  return undefined;
}
