import { IdParams, Problem, withoutUnsafeText } from '@vodcloud/contracts';
import type { ObjectStore } from '@vodcloud/storage';
import { tenantOf } from '../../http/auth';
import { fileResponses } from '../../http/openapi';
import { sendProblem } from '../../http/problem';
import type { ZodApp } from '../../http/types';
import { sendObject } from '../stream';
import { sourceKey } from './layout';
import type { VideoService } from './service';

export interface SourceRouteDeps {
  videos: VideoService;
  storage: ObjectStore;
  /** With S3 and VOD_STREAM_REDIRECT=presigned: GET answers 302 to a presigned URL valid 5 minutes. */
  redirect: boolean;
  /** The file name the client gave when uploading (tus Upload-Metadata `filename`), if any. */
  uploadedFilename(tenantId: string, videoId: string): Promise<string | null | undefined>;
}

/** Media types of the containers ffprobe names (`format_name`, first match wins); else octet-stream. */
const CONTAINER_TYPES: Array<[RegExp, string, string]> = [
  [/(^|,)mov(,|$)|(^|,)mp4(,|$)/, 'video/mp4', '.mp4'],
  [/(^|,)matroska(,|$)/, 'video/x-matroska', '.mkv'],
  [/(^|,)webm(,|$)/, 'video/webm', '.webm'],
  [/(^|,)mpegts(,|$)/, 'video/mp2t', '.ts'],
  [/(^|,)mpeg(,|$)/, 'video/mpeg', '.mpg'],
  [/(^|,)avi(,|$)/, 'video/x-msvideo', '.avi'],
  [/(^|,)flv(,|$)/, 'video/x-flv', '.flv'],
  [/(^|,)asf(,|$)/, 'video/x-ms-asf', '.wmv'],
  [/(^|,)ogg(,|$)/, 'video/ogg', '.ogv'],
  [/(^|,)gif(,|$)/, 'image/gif', '.gif'],
  [/(^|,)wav(,|$)/, 'audio/wav', '.wav'],
  [/(^|,)mp3(,|$)/, 'audio/mpeg', '.mp3'],
  [/(^|,)flac(,|$)/, 'audio/flac', '.flac'],
];

/** The source's media type and usual extension, from the container the probe recorded. */
export function sourceType(sourceInfo: string | null): { type: string; ext: string } {
  let container = '';
  try {
    container = String((JSON.parse(sourceInfo ?? 'null') as { container?: unknown } | null)?.container ?? '');
  } catch {
    container = '';
  }
  const hit = CONTAINER_TYPES.find(([re]) => re.test(container));
  return hit ? { type: hit[1], ext: hit[2] } : { type: 'application/octet-stream', ext: '' };
}

/**
 * `Content-Disposition: attachment` with a file name that cannot break out of the header or the download
 * folder: the given name's last path segment without control characters, bidi overrides or quotes, an ASCII
 * `filename` fallback and the UTF-8 name in `filename*` (RFC 6266); `{videoId}{ext}` when none is known.
 */
export function attachment(given: string | null | undefined, videoId: string, ext: string): string {
  const last = withoutUnsafeText(given ?? '')
    .split(/[/\\]/)
    .pop()!
    .replace(/["*:<>?|]/g, '')
    .trim()
    .replace(/^\.+/, '')
    .slice(0, 200);
  const name = last || `${videoId}${ext}`;
  const ascii = name.replace(/[^A-Za-z0-9._ -]/g, '_').replace(/_+/g, '_') || `${videoId}${ext}`;
  const encoded = encodeURIComponent(name).replace(/['()]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The last path segment of an import URL, as a file name. */
function urlFilename(url: string | null): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '') || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `GET|HEAD /v1/videos/{id}/source`: the original file as uploaded or imported, byte-exact, for export and
 * backup. API key with the read scope; another tenant's video is a 404 like a missing one. Range (206/416),
 * If-Range, ETag and Last-Modified as for MP4s; 404 `not_found` while the source is not stored yet.
 */
export function sourceRoutes(app: ZodApp, d: SourceRouteDeps): void {
  // HEAD (the same headers, no body) is a route of its own, left out of the OpenAPI document like Fastify's
  // own HEAD routes, so the document lists each API operation once.
  for (const method of ['HEAD', 'GET'] as const) sourceRoute(app, d, method);
}

function sourceRoute(app: ZodApp, d: SourceRouteDeps, method: 'GET' | 'HEAD'): void {
  app.route({
    method,
    url: '/v1/videos/:id/source',
    exposeHeadRoute: false,
    config: { access: 'read' },
    schema: {
      hide: method === 'HEAD',
      operationId: 'downloadVideoSource',
      tags: ['videos'],
      summary: 'Download the original file of a video (byte-exact, Range supported)',
      description:
        'The file as uploaded or imported: Content-Type from the probe (else application/octet-stream), ' +
        'Content-Disposition attachment. With S3 storage and VOD_STREAM_REDIRECT=presigned, GET answers ' +
        '302 to a presigned URL valid 5 minutes.',
      params: IdParams,
      response: { 416: Problem },
      doc: {
        responses: fileResponses(
          'The original file; `Content-Disposition: attachment` with the uploaded file name',
          ['video/*', 'audio/*', 'image/gif', 'application/octet-stream'],
          { range: true, redirect: true },
        ),
      },
    },
    handler: async (req, reply) => {
      const row = await d.videos.getRow(tenantOf(req), req.params.id);
      const key = sourceKey(row.tenant_id, row.id);
      const head = await d.storage.head(key);
      if (!head)
        return sendProblem(
          reply,
          'not_found',
          'The source of this video is not stored yet (its upload or import has not finished)',
        );
      const { type, ext } = sourceType(row.source_info);
      const name = (await d.uploadedFilename(row.tenant_id, row.id)) ?? urlFilename(row.input_url);
      if (d.redirect && req.method === 'GET') {
        const url = await d.storage.presignGet(key, { expiresIn: 300, responseContentType: type });
        return reply.header('cache-control', 'private, no-store').redirect(url, 302);
      }
      return sendObject(req, reply, d.storage, key, {
        contentType: type,
        cacheControl: 'private, no-store',
        headers: { 'content-disposition': attachment(name, row.id, ext) },
      });
    },
  });
}
