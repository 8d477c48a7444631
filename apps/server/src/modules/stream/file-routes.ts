import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { fileResponses, ofServedGeneration, PLAYBACK_ID_PARAM, TOKEN_QUERY } from '../../http/openapi';
import { sendProblem } from '../../http/problem';
import { ID_PATTERN } from '../../lib/ids';
import {
  imageKey,
  mp4Key,
  POSTER,
  RENDITION_NAME,
  STORYBOARD_SHEET,
  STORYBOARD_VTT,
  thumbsPrefix,
} from '../videos/index';
import { withQuery } from './playlist';
import { sendObject } from './send-object';
import {
  type Admitted,
  cors,
  IMMUTABLE,
  PLAYLIST,
  privately,
  type Serving,
  SHORT,
  type StreamDeps,
  tokenOf,
} from './serving';
import { normaliseThumb, ThumbQuery } from './thumbnails';

interface Outputs {
  mp4?: Record<string, string>;
  images?: { poster?: string };
}
const outputsOf = (a: Admitted) => JSON.parse(a.row.outputs ?? '{}') as Outputs;

/** A storyboard sheet's file name at the start of a VTT cue line (followed by its `#xywh=` fragment). */
const SHEET_IN_VTT = new RegExp(`^(${STORYBOARD_SHEET.source.replace(/^\^|\$$/g, '')})(#xywh=)`, 'gm');

/**
 * Progressive MP4s, thumbnails and storyboards of the generation a video plays from. URLs that name the
 * generation (`/mp4/{pid}/{generation}/…`, the sprites a storyboard VTT names) are immutable and answer
 * for the served generation only; the contract URLs without one are cached briefly.
 */
export function fileRoutes(app: FastifyInstance, d: StreamDeps, s: Serving): void {
  mp4Routes(app, d, s);
  imageRoutes(app, d, s);
}

/** `/mp4/{pid}/{rendition}.mp4` (contract, briefly cached) and `/mp4/{pid}/{generation}/…` (immutable). */
function mp4Routes(app: FastifyInstance, d: StreamDeps, s: Serving): void {
  /** `{rendition}.mp4` (or `.m4a`) of the admitted generation, if it has one. */
  const sendMp4 = async (
    req: FastifyRequest,
    reply: FastifyReply,
    a: Admitted,
    file: string,
    cache: string,
  ) => {
    const dot = file.lastIndexOf('.');
    const [name, ext] = [file.slice(0, dot), file.slice(dot + 1)];
    // Own names only: `constructor.mp4` must not find Object.prototype's.
    const mp4s = outputsOf(a).mp4;
    if (!mp4s || !Object.hasOwn(mp4s, name)) return sendProblem(reply, 'not_found', 'No such rendition');
    const key = mp4Key(a.row.tenant_id, a.row.id, a.generation, name);
    const contentType = ext === 'm4a' ? 'audio/mp4' : 'video/mp4';
    const cacheControl = privately(cache, a.signed);
    if (s.accelerate(req, reply, key, { contentType, cacheControl })) return reply;
    if (d.redirect && req.method === 'GET') return s.redirectToStorage(req, reply, key, contentType);
    return sendObject(req, reply, d.storage, key, { cacheControl });
  };
  const mp4File = (file: string) => {
    const m = /^(.+)\.(mp4|m4a)$/.exec(file);
    return m !== null && RENDITION_NAME.test(m[1]!);
  };

  app.route<{ Params: { pid: string; name: string } }>({
    method: ['GET', 'HEAD'],
    url: '/mp4/:pid/:name',
    schema: docGetMp4Current,
    handler: async (req, reply) => {
      if (!mp4File(req.params.name)) return sendProblem(reply, 'not_found', 'Not found');
      const a = await s.admit(req, reply, req.params.pid, 'v');
      return a ? sendMp4(req, reply, a, req.params.name, SHORT) : reply;
    },
  });

  app.route<{ Params: { pid: string; gen: string; name: string } }>({
    method: ['GET', 'HEAD'],
    url: '/mp4/:pid/:gen/:name',
    schema: docGetMp4,
    handler: async (req, reply) => {
      const { pid, gen, name } = req.params;
      if (!(ID_PATTERN.test(gen) && mp4File(name))) return sendProblem(reply, 'not_found', 'Not found');
      const a = await s.admit(req, reply, pid, 'v', gen);
      return a ? sendMp4(req, reply, a, name, IMMUTABLE) : reply;
    },
  });
}

const docGetMp4: FastifySchema = {
  operationId: 'getMp4',
  tags: ['playback'],
  summary: 'A progressive MP4 of a generation (Range; immutable)',
  security: [],
  doc: {
    params: {
      pid: PLAYBACK_ID_PARAM,
      gen: "The output generation (as in the video's `mp4Urls`; another generation is 404)",
      name: 'The rendition `{name}.mp4` (or the audio `audio.m4a`)',
    },
    query: TOKEN_QUERY,
    responses: fileResponses('The MP4 (index first)', ['video/mp4', 'audio/mp4'], {
      range: true,
      redirect: true,
    }),
    errors: [403, 404, 416],
  },
};

const docGetMp4Current = ofServedGeneration(
  docGetMp4,
  'getMp4Current',
  'A progressive MP4 of the served generation (Range; cached 60 s)',
);

const docGetThumbnail: FastifySchema = {
  operationId: 'getThumbnail',
  tags: ['playback'],
  summary: 'A thumbnail: the poster, or a frame at `time`, sized',
  description:
    'Sizes are rounded up to a small set and times to 0.5 s; new images per address and minute are ' +
    'limited (429 with Retry-After); a signed video needs `token` with aud `t`.',
  security: [],
  doc: {
    params: { file: 'The playback id with `.jpg` or `.webp`' },
    query: {
      time: {
        description: 'Seconds into the video',
        schema: { type: 'number', minimum: 0, maximum: 86400 },
      },
      width: {
        description: 'Width in pixels',
        schema: { type: 'integer', minimum: 16, maximum: 3840 },
      },
      height: {
        description: 'Height in pixels',
        schema: { type: 'integer', minimum: 16, maximum: 2160 },
      },
      fit: {
        description: 'How the frame fits the size',
        schema: { type: 'string', enum: ['contain', 'cover', 'fill'], default: 'contain' },
      },
      ...TOKEN_QUERY,
    },
    responses: fileResponses('The image', ['image/jpeg', 'image/webp']),
    errors: [400, 403, 404, 429, 503],
  },
};

const docGetStoryboard: FastifySchema = {
  operationId: 'getStoryboard',
  tags: ['playback'],
  summary: 'The storyboard: WebVTT cues with `#xywh=` regions of sprite images',
  security: [],
  doc: {
    params: { file: 'The playback id with `.vtt`' },
    query: TOKEN_QUERY,
    responses: {
      200: { description: 'The WebVTT storyboard', content: { 'text/vtt': { type: 'string' } } },
    },
    errors: [403, 404],
  },
};

const docGetStoryboardSprite: FastifySchema = {
  operationId: 'getStoryboardSprite',
  tags: ['playback'],
  summary: 'A storyboard sprite of a generation (immutable)',
  security: [],
  doc: {
    params: {
      pid: PLAYBACK_ID_PARAM,
      gen: 'The output generation (as named by the storyboard)',
      file: 'A sprite `storyboard-N.jpg`',
    },
    query: TOKEN_QUERY,
    responses: fileResponses('The sprite', ['image/jpeg']),
    errors: [403, 404],
  },
};

const docGetStoryboardSpriteCurrent = ofServedGeneration(
  docGetStoryboardSprite,
  'getStoryboardSpriteCurrent',
  'A storyboard sprite of the served generation',
);

/** Thumbnails (`/thumb/{pid}.jpg|webp`), the storyboard VTT and its sprites. */
function imageRoutes(app: FastifyInstance, d: StreamDeps, s: Serving): void {
  app.get<{ Params: { file: string }; Querystring: Record<string, string> }>(
    '/thumb/:file',
    { schema: docGetThumbnail },
    async (req, reply) => {
      const m = /^([A-Za-z0-9_-]+)\.(jpg|webp)$/.exec(req.params.file);
      if (!m) return sendProblem(reply, 'not_found', 'Not found');
      const parsed = ThumbQuery.safeParse(req.query);
      if (!parsed.success)
        return sendProblem(reply, 'validation_failed', 'The thumbnail parameters are invalid', {
          errors: parsed.error.issues.map((i) => ({ path: `query.${i.path.join('.')}`, message: i.message })),
        });
      const a = await s.admit(req, reply, m[1]!, 't');
      if (!a) return reply;
      const { row, generation } = a;
      const format = m[2] === 'webp' ? 'webp' : 'jpeg';
      const poster = outputsOf(a).images?.poster ?? POSTER;
      const posterKey = imageKey(row.tenant_id, row.id, generation, poster);
      const thumbs = thumbsPrefix(row.tenant_id, row.id, generation);
      const q = normaliseThumb(parsed.data, row.duration); // a small set of sizes and times (thumbnails.ts)
      const key = d.thumbnails?.keyFor(thumbs, q, format, poster) ?? null;
      const made =
        key && d.thumbnails ? await d.thumbnails.ensure(row, key, q, format, posterKey, req.ip) : undefined;
      // The plain, sized or converted poster is cached briefly (a new cover or generation changes it); a
      // timed one is a frame of the source, which neither changes.
      const cacheControl = privately(key && q.time !== undefined ? IMMUTABLE : SHORT, a.signed);
      // Just made: served as made (another thumbnail's eviction may delete the object before a read back).
      if (made?.data)
        return reply
          .header('cache-control', cacheControl)
          .header('content-length', String(made.data.length))
          .type(`image/${format}`)
          .send(made.data);
      return sendObject(req, reply, d.storage, key ?? posterKey, {
        contentType: `image/${format}`,
        cacheControl,
      });
    },
  );

  app.get<{ Params: { file: string } }>(
    '/storyboard/:file',
    { schema: docGetStoryboard },
    async (req, reply) => {
      const m = /^([A-Za-z0-9_-]+)\.vtt$/.exec(req.params.file);
      if (!m) return sendProblem(reply, 'not_found', 'Not found');
      const a = await s.admit(req, reply, m[1]!, 's');
      if (!a) return reply;
      const { row, generation } = a;
      const obj = await d.storage
        .get(imageKey(row.tenant_id, row.id, generation, STORYBOARD_VTT))
        .catch(() => undefined);
      if (!obj) return sendProblem(reply, 'not_found', 'No storyboard');
      let text = '';
      for await (const c of obj.body) text += (c as Buffer).toString('utf8');
      // Sprite URLs in the stored VTT are relative to it; here they name this video's generation.
      text = text.replace(SHEET_IN_VTT, `/storyboard/${row.playback_id}/${generation}/$1$2`);
      // A signed video's sprite URLs carry the token the VTT was fetched with.
      if (a.signed)
        text = text.replace(
          /^(\/storyboard\/[^\s#]+\.jpg)(#xywh=)/gm,
          (_m, u: string, x: string) => `${withQuery(u, 'token', tokenOf(req)!)}${x}`,
        );
      cors(reply);
      return reply
        .header('cache-control', a.signed ? 'private, no-store' : PLAYLIST)
        .type('text/vtt; charset=utf-8')
        .send(text);
    },
  );

  const sendSheet = (req: FastifyRequest, reply: FastifyReply, a: Admitted, file: string, cache: string) => {
    const key = imageKey(a.row.tenant_id, a.row.id, a.generation, file);
    const headers = { contentType: 'image/jpeg', cacheControl: privately(cache, a.signed) };
    if (s.accelerate(req, reply, key, headers)) return reply;
    return sendObject(req, reply, d.storage, key, headers);
  };

  app.get<{ Params: { pid: string; file: string } }>(
    '/storyboard/:pid/:file',
    { schema: docGetStoryboardSpriteCurrent },
    async (req, reply) => {
      if (!STORYBOARD_SHEET.test(req.params.file)) return sendProblem(reply, 'not_found', 'Not found');
      const a = await s.admit(req, reply, req.params.pid, 's');
      return a ? sendSheet(req, reply, a, req.params.file, SHORT) : reply;
    },
  );

  app.get<{ Params: { pid: string; gen: string; file: string } }>(
    '/storyboard/:pid/:gen/:file',
    { schema: docGetStoryboardSprite },
    async (req, reply) => {
      const { pid, gen, file } = req.params;
      if (!(ID_PATTERN.test(gen) && STORYBOARD_SHEET.test(file)))
        return sendProblem(reply, 'not_found', 'Not found');
      const a = await s.admit(req, reply, pid, 's', gen);
      return a ? sendSheet(req, reply, a, file, IMMUTABLE) : reply;
    },
  );
}
