import type { ObjectStore } from '@vodcloud/storage';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../../db/connect';
import type { VideosTable } from '../../db/schema';
import { sendProblem } from '../../http/problem';
import { open } from '../../lib/secretbox';
import type { Audience } from '../playback/jwt';
import { referrerAllowed } from '../playback/referrer';
import type { PlaybackService } from '../playback/service';
import type { mediaService } from '../rpc/contracts';
import type { Client } from '../rpc/define';
import type { DeliveryCounter } from './delivery-counter';
import { addTokenToPlaylist, withQuery } from './playlist';
import { sendObject } from './send-object';
import { type Thumbnailer, ThumbQuery } from './thumbnails';

const PID = /^[A-Za-z0-9_-]{10,40}$/;
const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const SEGMENT = /^seg-\d{5}\.ts$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const PLAYLIST = 'public, max-age=2';

export interface StreamDeps {
  db: Database;
  storage: ObjectStore;
  secret: string;
  playback: PlaybackService;
  /** Counts delivered bytes and requests per tenant and video. */
  delivery?: DeliveryCounter;
  /** Makes thumbnails at any time and size on demand. */
  thumbnails?: Thumbnailer;
  /** Send segments and MP4s as redirects to short-lived presigned storage URLs (S3), bytes bypassing the node. */
  redirect?: boolean;
  /** Workers' media service: segments of a video still processing are made just in time. */
  media?: Client<typeof mediaService>;
  /** How long a request waits for a just-in-time segment (default 15 s). */
  jitWaitMs?: number;
}

/**
 * The generation a video plays from: the published one, else (still processing, already playable) the
 * current one, whose playlists are complete and whose missing segments are made just in time.
 */
export const servedGeneration = (row: VideosTable): string | null =>
  row.published_generation ?? (row.playable === 1 && row.generation ? row.generation : null);

declare module 'fastify' {
  interface FastifyRequest {
    vodDelivery?: { tenantId: string; videoId: string };
  }
}

const LOOKUP_TTL_MS = 2000;
const VERIFIED_TTL_MS = 1000;
const NOT_YET_TTL_MS = 100;

/** Signed responses may only be cached by the viewer's browser, not shared caches (the token is per viewer). */
const privately = (cacheControl: string, signed: boolean) =>
  signed ? cacheControl.replace(/^public/, 'private') : cacheControl;

/**
 * The stream role: playlists, segments, AES keys, progressive MP4, poster and storyboard of published
 * videos. Objects of a generation never change, so they are served immutable; playlists briefly cached.
 *
 * Every request passes the referrer policy of the video (else of its tenant), if one is set. A `signed`
 * video also needs `?token=<RS256 JWT>` for the route's audience (v: HLS, MP4, key; t: thumbnail;
 * s: storyboard); its playlists are rewritten so that every URI they name carries the same token.
 */
/**
 * Requests made by the player inside this server's own embed page carry that page as their Referer; the
 * embed page itself was already held to the referrer policy (its Referer is the embedding site).
 */
function fromOwnEmbed(req: FastifyRequest, pid: string): boolean {
  const ref = req.headers.referer;
  if (!ref) return false;
  try {
    const u = new URL(ref);
    return u.host === req.host && u.pathname === `/embed/${pid}`;
  } catch {
    return false;
  }
}

export function streamRoutes(app: FastifyInstance, d: StreamDeps): void {
  /** 302 to a presigned URL valid 5 minutes; the object's size is counted as delivered (the bytes bypass us). */
  const redirectToStorage = async (
    req: FastifyRequest,
    reply: FastifyReply,
    key: string,
    contentType: string,
  ) => {
    const head = await d.storage.head(key);
    if (!head) return sendProblem(reply, 'not_found', 'Not found');
    const url = await d.storage.presignGet(key, { expiresIn: 300, responseContentType: contentType });
    if (req.vodDelivery) d.delivery?.count(req.vodDelivery.tenantId, req.vodDelivery.videoId, head.size);
    req.vodDelivery = undefined; // counted here, not again on the response
    return reply.header('cache-control', 'private, max-age=240').redirect(url, 302);
  };
  // Playback ids resolve from a short-lived cache: a segment request costs no database read, and a block,
  // delete or republish is seen within LOOKUP_TTL_MS.
  const cache = new Map<string, { row: VideosTable | undefined; at: number }>();
  const verified = new Map<string, number>();
  const lookup = async (pid: string): Promise<VideosTable | undefined> => {
    const hit = cache.get(pid);
    // A video not served yet is looked up again soon: it turns playable within a second of its upload.
    if (hit && Date.now() - hit.at < (hit.row && servedGeneration(hit.row) ? LOOKUP_TTL_MS : NOT_YET_TTL_MS))
      return hit.row;
    const row = await d.db.read((k) =>
      k.selectFrom('videos').selectAll().where('playback_id', '=', pid).executeTakeFirst(),
    );
    if (cache.size > 10_000) cache.clear();
    cache.set(pid, { row, at: Date.now() });
    return row;
  };
  app.addHook('onResponse', async (req, reply) => {
    const who = req.vodDelivery;
    if (!who || !d.delivery || (reply.statusCode !== 200 && reply.statusCode !== 206)) return;
    const bytes =
      req.method === 'HEAD' || !reply.raw.writableFinished
        ? 0
        : Number(reply.getHeader('content-length') ?? 0);
    d.delivery.count(who.tenantId, who.videoId, bytes);
  });

  const find = async (
    req: FastifyRequest,
    reply: FastifyReply,
    pid: string,
    aud: Audience,
  ): Promise<VideosTable | undefined> => {
    if (!PID.test(pid)) {
      sendProblem(reply, 'not_found', 'Not found');
      return undefined;
    }
    const row = await lookup(pid);
    if (!row || !servedGeneration(row) || row.status === 'blocked') {
      sendProblem(reply, 'not_found', 'Not found');
      return undefined;
    }
    reply.header('access-control-allow-origin', '*');
    const rules = await d.playback.referrerRules(row.tenant_id, row.id);
    if (rules && !fromOwnEmbed(req, pid) && !referrerAllowed(rules, req.headers.referer)) {
      sendProblem(reply, 'forbidden', 'Playback of this video is not allowed from this page');
      return undefined;
    }
    if (row.playback_policy !== 'public') {
      // A token verified for this video and audience is trusted for VERIFIED_TTL_MS (an RSA verify per
      // segment request is the largest part of its cost); revocations still apply within seconds.
      const token = tokenOf(req);
      const memo = token ? `${d.playback.revocations}|${row.id}|${aud}|${token}` : '';
      const until = memo ? verified.get(memo) : undefined;
      const why =
        until !== undefined && until > Date.now() ? undefined : await d.playback.checkToken(row, token, aud);
      if (!why && memo && until === undefined) {
        if (verified.size > 50_000) verified.clear();
        verified.set(memo, Date.now() + VERIFIED_TTL_MS);
      }
      if (why) {
        sendProblem(reply, 'forbidden', why);
        return undefined;
      }
    }
    req.vodDelivery = { tenantId: row.tenant_id, videoId: row.id };
    return row;
  };
  const tokenOf = (req: FastifyRequest): string | undefined => {
    const t = (req.query as Record<string, unknown> | undefined)?.token;
    return typeof t === 'string' ? t : undefined;
  };
  const signed = (row: VideosTable) => row.playback_policy !== 'public';
  /** A playlist of a signed video, read whole and rewritten to carry the request's token. */
  // Playlists of a published generation never change: their text is kept in memory for the per-viewer rewrite.
  const playlists = new Map<string, string>();
  const sendSignedPlaylist = async (req: FastifyRequest, reply: FastifyReply, key: string) => {
    let stored = playlists.get(key);
    if (stored === undefined) {
      const obj = await d.storage.get(key).catch(() => undefined);
      if (!obj) return sendProblem(reply, 'not_found', 'Not found');
      const parts: Buffer[] = [];
      for await (const c of obj.body) parts.push(c as Buffer);
      stored = Buffer.concat(parts).toString('utf8');
      if (playlists.size > 5_000) playlists.clear();
      playlists.set(key, stored);
    }
    const text = addTokenToPlaylist(stored, tokenOf(req)!);
    return reply
      .header('cache-control', 'private, no-store')
      .type('application/vnd.apple.mpegurl')
      .send(text);
  };
  const prefix = (row: VideosTable) => `${row.tenant_id}/${row.id}/${servedGeneration(row)}`;
  /**
   * A segment of a video still processing that is not encoded yet: a worker makes it now (consistent
   * hashing sends one video's requests to one worker; concurrent requests share one encode). False after
   * answering 503 + Retry-After when no worker made it in time.
   */
  const ensureSegment = async (reply: FastifyReply, row: VideosTable, name: string, file: string) => {
    if (row.published_generation || !d.media) return true;
    const key = `${prefix(row)}/hls/${name}/${file}`;
    if (await d.storage.head(key)) return true;
    try {
      await d.media.segment(
        {
          tenantId: row.tenant_id,
          videoId: row.id,
          generation: servedGeneration(row)!,
          rendition: name,
          index: Number(file.slice(4, 9)),
        },
        { hashKey: row.id, timeoutMs: d.jitWaitMs ?? 15_000, requestId: String(reply.request.id) },
      );
      return true;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'not_found') {
        sendProblem(reply, 'not_found', 'Not found');
        return false;
      }
      reply.request.log.warn({ err: (err as Error).message }, 'just-in-time segment failed');
      sendProblem(reply, 'unavailable', 'The segment is being prepared; retry shortly', {
        headers: { 'retry-after': '1' },
      });
      return false;
    }
  };
  const cors = (reply: FastifyReply) => reply.header('access-control-allow-origin', '*');

  app.get<{ Params: { pid: string } }>(
    '/hls/:pid/master.m3u8',
    { schema: { hide: true } },
    async (req, reply) => {
      const row = await find(req, reply, req.params.pid, 'v');
      if (!row) return reply;
      if (signed(row)) return sendSignedPlaylist(req, reply, `${prefix(row)}/hls/master.m3u8`);
      return sendObject(req, reply, d.storage, `${prefix(row)}/hls/master.m3u8`, {
        contentType: 'application/vnd.apple.mpegurl',
        cacheControl: PLAYLIST,
      });
    },
  );

  app.get<{ Params: { pid: string; name: string; file: string } }>(
    '/hls/:pid/:name/:file',
    { schema: { hide: true } },
    async (req, reply) => {
      const { name, file } = req.params;
      if (!(NAME.test(name) && (file === 'index.m3u8' || SEGMENT.test(file))))
        return sendProblem(reply, 'not_found', 'Not found');
      const row = await find(req, reply, req.params.pid, 'v');
      if (!row) return reply;
      const playlist = file === 'index.m3u8';
      if (playlist && signed(row))
        return sendSignedPlaylist(req, reply, `${prefix(row)}/hls/${name}/${file}`);
      if (!playlist && !(await ensureSegment(reply, row, name, file))) return reply;
      if (!playlist && d.redirect)
        return redirectToStorage(req, reply, `${prefix(row)}/hls/${name}/${file}`, 'video/mp2t');
      return sendObject(req, reply, d.storage, `${prefix(row)}/hls/${name}/${file}`, {
        contentType: playlist ? 'application/vnd.apple.mpegurl' : 'video/mp2t',
        cacheControl: privately(playlist ? PLAYLIST : IMMUTABLE, signed(row)),
      });
    },
  );

  app.get<{ Params: { pid: string } }>('/hls/:pid/key', { schema: { hide: true } }, async (req, reply) => {
    const row = await find(req, reply, req.params.pid, 'v');
    if (!row) return reply;
    if (!row.hls_key) return sendProblem(reply, 'not_found', 'This video is not encrypted');
    return reply
      .header('cache-control', 'private, no-store')
      .type('application/octet-stream')
      .send(open(row.hls_key, d.secret, 'hls-key'));
  });

  app.route<{ Params: { pid: string; name: string } }>({
    method: ['GET', 'HEAD'],
    url: '/mp4/:pid/:name',
    schema: { hide: true },
    handler: async (req, reply) => {
      const m = /^([a-z0-9][a-z0-9_-]{0,31})\.(mp4|m4a)$/.exec(req.params.name);
      if (!m) return sendProblem(reply, 'not_found', 'Not found');
      const row = await find(req, reply, req.params.pid, 'v');
      if (!row) return reply;
      const outputs = JSON.parse(row.outputs ?? '{}') as { mp4?: Record<string, string> };
      const key = outputs.mp4?.[m[1]!];
      if (!key) return sendProblem(reply, 'not_found', 'No such rendition');
      if (d.redirect && req.method === 'GET')
        return redirectToStorage(req, reply, key, m[2] === 'm4a' ? 'audio/mp4' : 'video/mp4');
      return sendObject(req, reply, d.storage, key, { cacheControl: privately(IMMUTABLE, signed(row)) });
    },
  });

  app.get<{ Params: { file: string }; Querystring: Record<string, string> }>(
    '/thumb/:file',
    { schema: { hide: true } },
    async (req, reply) => {
      const m = /^([A-Za-z0-9_-]+)\.(jpg|webp)$/.exec(req.params.file);
      if (!m) return sendProblem(reply, 'not_found', 'Not found');
      const parsed = ThumbQuery.safeParse(req.query);
      if (!parsed.success)
        return sendProblem(reply, 'validation_failed', 'The thumbnail parameters are invalid', {
          errors: parsed.error.issues.map((i) => ({ path: `query.${i.path.join('.')}`, message: i.message })),
        });
      const row = await find(req, reply, m[1]!, 't');
      if (!row) return reply;
      const format = m[2] === 'webp' ? 'webp' : 'jpeg';
      const outputs = JSON.parse(row.outputs ?? '{}') as { images?: { poster?: string } };
      const poster = outputs.images?.poster ?? 'poster.jpg';
      const posterKey = `${prefix(row)}/images/${poster}`;
      const key = d.thumbnails?.keyFor(prefix(row), parsed.data, format, poster) ?? null;
      if (key && d.thumbnails) await d.thumbnails.ensure(row, key, parsed.data, format, posterKey);
      // The plain poster URL is cached briefly (a new cover changes it); a sized or timed one never changes.
      return sendObject(req, reply, d.storage, key ?? posterKey, {
        contentType: `image/${format}`,
        cacheControl: privately(
          key && parsed.data.time !== undefined ? IMMUTABLE : 'public, max-age=60',
          signed(row),
        ),
      });
    },
  );

  app.get<{ Params: { file: string } }>(
    '/storyboard/:file',
    { schema: { hide: true } },
    async (req, reply) => {
      const m = /^([A-Za-z0-9_-]+)\.vtt$/.exec(req.params.file);
      if (!m) return sendProblem(reply, 'not_found', 'Not found');
      const row = await find(req, reply, m[1]!, 's');
      if (!row) return reply;
      const obj = await d.storage.get(`${prefix(row)}/images/storyboard.vtt`).catch(() => undefined);
      if (!obj) return sendProblem(reply, 'not_found', 'No storyboard');
      let text = '';
      for await (const c of obj.body) text += (c as Buffer).toString('utf8');
      // Sprite URLs in the stored VTT are relative to it; here they point at this video's sprite route.
      text = text.replace(/^(storyboard-\d+\.jpg)(#xywh=)/gm, `/storyboard/${row.playback_id}/$1$2`);
      // A signed video's sprite URLs carry the token the VTT was fetched with.
      if (signed(row))
        text = text.replace(
          /^(\/storyboard\/[^\s#]+\.jpg)(#xywh=)/gm,
          (_m, u: string, x: string) => `${withQuery(u, 'token', tokenOf(req)!)}${x}`,
        );
      cors(reply);
      return reply
        .header('cache-control', signed(row) ? 'private, no-store' : PLAYLIST)
        .type('text/vtt; charset=utf-8')
        .send(text);
    },
  );

  app.get<{ Params: { pid: string; file: string } }>(
    '/storyboard/:pid/:file',
    { schema: { hide: true } },
    async (req, reply) => {
      if (!/^storyboard-\d+\.jpg$/.test(req.params.file)) return sendProblem(reply, 'not_found', 'Not found');
      const row = await find(req, reply, req.params.pid, 's');
      if (!row) return reply;
      return sendObject(req, reply, d.storage, `${prefix(row)}/images/${req.params.file}`, {
        contentType: 'image/jpeg',
        cacheControl: privately(IMMUTABLE, signed(row)),
      });
    },
  );
}
