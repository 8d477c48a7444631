import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import {
  binary,
  fileResponses,
  ofServedGeneration,
  PLAYBACK_ID_PARAM,
  TOKEN_QUERY,
} from '../../http/openapi';
import { sendProblem } from '../../http/problem';
import { ID_PATTERN } from '../../lib/ids';
import {
  isSegmentName,
  keyOf,
  MEDIA_PLAYLIST,
  masterKey,
  playlistKey,
  RENDITION_NAME,
  segmentIndex,
  segmentKey,
} from '../videos/index';
import { sendObject } from './send-object';
import { type Admitted, IMMUTABLE, M3U8, privately, type Serving, SHORT, type StreamDeps } from './serving';

/** Whether a URL's rendition and file name can name a media playlist or a segment. */
const mediaFile = (name: string, file: string) =>
  RENDITION_NAME.test(name) && (file === MEDIA_PLAYLIST || isSegmentName(file));

const docGetHlsMaster: FastifySchema = {
  operationId: 'getHlsMaster',
  tags: ['playback'],
  summary: 'The HLS master playlist of a video',
  description:
    'Lists the renditions ready to play (and the audio group); every URL below it names the generation. ' +
    'A signed video needs `token` (aud `v`); it is carried into every URL the playlist names.',
  security: [],
  doc: {
    params: { pid: PLAYBACK_ID_PARAM },
    query: TOKEN_QUERY,
    responses: fileResponses('The master playlist', [M3U8]),
    errors: [403, 404],
  },
};

const docGetHlsMedia: FastifySchema = {
  operationId: 'getHlsMedia',
  tags: ['playback'],
  summary: 'A media playlist or a segment of a generation (segments are immutable)',
  security: [],
  doc: {
    params: {
      pid: PLAYBACK_ID_PARAM,
      gen: 'The output generation (named by the master playlist; another generation is 404)',
      name: 'The rendition (`720p`, …) or `audio`',
      file: 'The media playlist `index.m3u8` or a segment `seg-NNNNN.ts`',
    },
    query: TOKEN_QUERY,
    responses: fileResponses('The media playlist or the MPEG-TS segment', [M3U8, 'video/mp2t'], {
      redirect: true,
    }),
    errors: [403, 404, 503],
  },
};

const docGetHlsKey: FastifySchema = {
  operationId: 'getHlsKey',
  tags: ['playback'],
  summary: 'The AES-128 key of an encrypted generation (checks the same token as the playlists)',
  security: [],
  doc: {
    params: {
      pid: PLAYBACK_ID_PARAM,
      gen: 'The output generation (named by the master playlist; another generation is 404)',
    },
    query: TOKEN_QUERY,
    responses: {
      200: { description: 'The 16-byte key', content: { 'application/octet-stream': binary } },
    },
    errors: [403, 404],
  },
};

const docGetHlsMediaCurrent = ofServedGeneration(
  docGetHlsMedia,
  'getHlsMediaCurrent',
  'A media playlist or a segment of the served generation (older URLs; cached briefly)',
);

const docGetHlsKeyCurrent = ofServedGeneration(
  docGetHlsKey,
  'getHlsKeyCurrent',
  'The AES-128 key of the served generation (older playlists)',
);

/**
 * HLS of the generation a video plays from:
 *
 * - `/hls/{pid}/master.m3u8` (briefly cached) names its media playlists as `{generation}/{rendition}/…`;
 * - `/hls/{pid}/{generation}/{rendition}/index.m3u8|seg-NNNNN.ts` and `/hls/{pid}/{generation}/key`
 *   answer for the served generation only (another one is 404, so an old URL never gets new bytes), and
 *   segments are immutable;
 * - the old-style `/hls/{pid}/{rendition}/…` and `/hls/{pid}/key` (older playlists and clients) serve
 *   the current generation; their segments are cached briefly, as a retranscode changes their bytes.
 *
 * A signed video's playlists are rewritten so that every URI they name carries the request's token.
 */
export function hlsRoutes(app: FastifyInstance, d: StreamDeps, s: Serving): void {
  app.get<{ Params: { pid: string } }>(
    '/hls/:pid/master.m3u8',
    { schema: docGetHlsMaster },
    async (req, reply) => {
      const a = await s.admit(req, reply, req.params.pid, 'v');
      if (!a) return reply;
      return s.sendPlaylist(req, reply, a, masterKey(a.row.tenant_id, a.row.id, a.generation));
    },
  );

  /** A media playlist or a segment of the admitted generation; `segmentCache`: the segments' caching. */
  const sendMedia = async (
    req: FastifyRequest,
    reply: FastifyReply,
    a: Admitted,
    name: string,
    file: string,
    segmentCache: string,
  ) => {
    const { row, generation } = a;
    if (file === MEDIA_PLAYLIST)
      return s.sendPlaylist(req, reply, a, playlistKey(row.tenant_id, row.id, generation, name));
    if (!(await s.ensureSegment(reply, a, name, file))) return reply;
    const key = segmentKey(row.tenant_id, row.id, generation, name, segmentIndex(file)!);
    const headers = { contentType: 'video/mp2t', cacheControl: privately(segmentCache, a.signed) };
    if (s.accelerate(req, reply, key, headers)) return reply;
    if (d.redirect) return s.redirectToStorage(req, reply, key, 'video/mp2t');
    return sendObject(req, reply, d.storage, key, headers);
  };

  app.get<{ Params: { pid: string; gen: string; name: string; file: string } }>(
    '/hls/:pid/:gen/:name/:file',
    { schema: docGetHlsMedia },
    async (req, reply) => {
      const { pid, gen, name, file } = req.params;
      if (!(ID_PATTERN.test(gen) && mediaFile(name, file)))
        return sendProblem(reply, 'not_found', 'Not found');
      const a = await s.admit(req, reply, pid, 'v', gen);
      if (!a) return reply;
      return sendMedia(req, reply, a, name, file, IMMUTABLE);
    },
  );

  app.get<{ Params: { pid: string; name: string; file: string } }>(
    '/hls/:pid/:name/:file',
    { schema: docGetHlsMediaCurrent },
    async (req, reply) => {
      const { pid, name, file } = req.params;
      if (!mediaFile(name, file)) return sendProblem(reply, 'not_found', 'Not found');
      const a = await s.admit(req, reply, pid, 'v');
      if (!a) return reply;
      return sendMedia(req, reply, a, name, file, SHORT);
    },
  );

  /** The AES-128 key of the served generation of an encrypted video (one per generation), never cached. */
  const sendKey = (reply: FastifyReply, a: Admitted) => {
    const key = keyOf(a.row, a.generation, d.box);
    if (!key) return sendProblem(reply, 'not_found', 'This video is not encrypted');
    return reply.header('cache-control', 'private, no-store').type('application/octet-stream').send(key);
  };

  app.get<{ Params: { pid: string; gen: string } }>(
    '/hls/:pid/:gen/key',
    { schema: docGetHlsKey },
    async (req, reply) => {
      if (!ID_PATTERN.test(req.params.gen)) return sendProblem(reply, 'not_found', 'Not found');
      const a = await s.admit(req, reply, req.params.pid, 'v', req.params.gen);
      return a ? sendKey(reply, a) : reply;
    },
  );

  app.get<{ Params: { pid: string } }>(
    '/hls/:pid/key',
    { schema: docGetHlsKeyCurrent },
    async (req, reply) => {
      const a = await s.admit(req, reply, req.params.pid, 'v');
      return a ? sendKey(reply, a) : reply;
    },
  );
}
