import type { ObjectStore } from '@vodcloud/storage';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { VideosTable } from '../../db/schema';
import { sendProblem } from '../../http/problem';
import type { SecretBox } from '../../lib/secretbox';
import type { Audience } from '../playback';
import { PlaybackGate, type PlaybackService } from '../playback';
import type { Client, mediaService } from '../rpc';
import { segmentIndex, segmentKey } from '../videos/index';
import { accelHeaders, viaFront } from './accel';
import type { DeliveryCounter } from './delivery-counter';
import { type CachedPlaylist, PlaylistCache, withToken } from './playlist-cache';
import { sendObject } from './send-object';
import type { Thumbnailer } from './thumbnails';

/** Objects behind a URL that names their generation: they never change. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Playlists (and the storyboard VTT): briefly cached. */
export const PLAYLIST = 'public, max-age=2';
/** Objects behind a URL without a generation (old-style and contract URLs): a new generation changes them. */
export const SHORT = 'public, max-age=60';

/** Signed responses may only be cached by the viewer's browser, not shared caches (the token is per viewer). */
export const privately = (cacheControl: string, signed: boolean) =>
  signed ? cacheControl.replace(/^public/, 'private') : cacheControl;

export interface StreamDeps {
  storage: ObjectStore;
  /** Opens HLS keys (lib/secretbox.ts). */
  box: SecretBox;
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
  /** Authorise the nginx front's requests and let it send the bytes (accel.ts). */
  accel?: boolean;
}

/** The type and caching of a stored object's answer. */
export interface StoredHeaders {
  contentType: string;
  cacheControl: string;
}

export const M3U8 = 'application/vnd.apple.mpegurl';

/** The headers of a playlist's 200: a signed one is per viewer; a public one carries its validators. */
export function playlistHeaders(p: CachedPlaylist, signed: boolean): Record<string, string> {
  if (signed) return { 'cache-control': 'private, no-store', 'content-type': M3U8 };
  return {
    etag: p.etag,
    'last-modified': p.lastModified,
    'cache-control': PLAYLIST,
    'accept-ranges': 'bytes',
    'content-type': M3U8,
  };
}

/** A request the playback gate let through: the video, the generation it plays from, whether it is signed. */
export interface Admitted {
  row: VideosTable;
  generation: string;
  signed: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    vodDelivery?: { tenantId: string; videoId: string };
  }
}

export const tokenOf = (req: FastifyRequest): string | undefined => {
  const t = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof t === 'string' ? t : undefined;
};

export const cors = (reply: FastifyReply) => reply.header('access-control-allow-origin', '*');

export type Serving = ReturnType<typeof createServing>;

/** Counts every admitted 200/206 once answered: a request, and its length when it was sent whole. */
function countDeliveries(app: FastifyInstance, d: StreamDeps): void {
  app.addHook('onResponse', async (req, reply) => {
    const who = req.vodDelivery;
    if (!who || !d.delivery || (reply.statusCode !== 200 && reply.statusCode !== 206)) return;
    const bytes =
      req.method === 'HEAD' || !reply.raw.writableFinished
        ? 0
        : Number(reply.getHeader('content-length') ?? 0);
    d.delivery.count(who.tenantId, who.videoId, bytes);
    if (bytes > 0) app.metrics?.deliveryBytes.inc({ route: req.routeOptions.url ?? 'unmatched' }, bytes);
  });
}

/**
 * What every stream route shares: the playback gate (cached), delivery counting, presigned redirects, the
 * per-viewer rewrite of a signed video's playlists, and just-in-time segments of a video still processing.
 */
export function createServing(app: FastifyInstance, d: StreamDeps) {
  const gate = new PlaybackGate(d.playback, { cache: true });
  countDeliveries(app, d);

  /**
   * Passes the request through the playback gate (with the own-embed exemption); answers 404/403 itself
   * and returns undefined when refused. `generation`: the URL names one, and only the served one plays.
   */
  const admit = async (
    req: FastifyRequest,
    reply: FastifyReply,
    playbackId: string,
    audience: Audience,
    generation?: string,
  ): Promise<Admitted | undefined> => {
    const pass = await gate.check({
      playbackId,
      audience,
      token: tokenOf(req),
      requireServed: true,
      generation,
      checkReferrer: true,
      referer: req.headers.referer,
      ownEmbedHost: req.host,
    });
    if (!pass.ok) {
      if (pass.code === 'forbidden') cors(reply);
      sendProblem(reply, pass.code, pass.message);
      return undefined;
    }
    cors(reply);
    const row = pass.video;
    req.vodDelivery = { tenantId: row.tenant_id, videoId: row.id };
    return { row, generation: pass.generation!, signed: row.playback_policy !== 'public' };
  };

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

  const playlists = new PlaylistCache(d.storage);
  /**
   * A playlist of the admitted generation, from memory (playlist-cache.ts): a signed video's carries the
   * request's token in every URI; a public video's is sent as stored, with its validators (a conditional or
   * Range request is answered by sendObject).
   */
  const sendPlaylist = async (req: FastifyRequest, reply: FastifyReply, a: Admitted, key: string) => {
    const h = req.headers;
    if (!a.signed && (h.range || h['if-none-match'] || h['if-modified-since']))
      return sendObject(req, reply, d.storage, key, { contentType: M3U8, cacheControl: PLAYLIST });
    const p = await playlists.get(key, a.row.published_generation === a.generation);
    if (!p) return sendProblem(reply, 'not_found', 'Not found');
    return reply.headers(playlistHeaders(p, a.signed)).send(a.signed ? withToken(p, tokenOf(req)!) : p.body);
  };

  /**
   * The nginx front's authorisation request (accel.ts): an empty answer naming the object, whose bytes nginx
   * sends and counts. False when the request came another way (or the store is not the file store).
   */
  const accelerate = (req: FastifyRequest, reply: FastifyReply, key: string, headers: StoredHeaders) => {
    if (d.storage.kind !== 'file' || !viaFront(d.accel === true, req.headers)) return false;
    req.vodDelivery = undefined; // counted by nginx's delivery log
    reply.headers(accelHeaders(key, headers.contentType, headers.cacheControl)).send();
    return true;
  };

  const ensureSegment = (reply: FastifyReply, a: Admitted, rendition: string, file: string) =>
    justInTime(app, d, reply, a, rendition, file);

  return { admit, redirectToStorage, sendPlaylist, accelerate, ensureSegment, gate, playlists };
}

/**
 * A segment of a video still processing that is not encoded yet: a worker makes it now (consistent
 * hashing sends one video's requests to one worker; concurrent requests share one encode). False after
 * answering 503 + Retry-After when no worker made it in time.
 */
async function justInTime(
  app: FastifyInstance,
  d: StreamDeps,
  reply: FastifyReply,
  a: Admitted,
  rendition: string,
  file: string,
): Promise<boolean> {
  const { row, generation } = a;
  const index = segmentIndex(file);
  if (row.published_generation || !d.media || index === undefined) return true;
  if (await d.storage.head(segmentKey(row.tenant_id, row.id, generation, rendition, index))) return true;
  const waited = app.metrics?.jitWait.startTimer();
  // A player that gave up (hls.js abandons a slow fragment for a lower level, or seeks away) ends the wait:
  // the worker's run completes all the same, yielding to the segments players still wait for.
  const left = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) left.abort(new Error('the client went away'));
  };
  reply.raw.once('close', onClose);
  try {
    await d.media.segment(
      { tenantId: row.tenant_id, videoId: row.id, generation, rendition, index },
      {
        hashKey: row.id,
        timeoutMs: d.jitWaitMs ?? 15_000,
        requestId: String(reply.request.id),
        signal: left.signal,
      },
    );
    waited?.({ outcome: 'ok' });
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    waited?.({ outcome: code === 'not_found' ? 'not_found' : 'unavailable' });
    if (code === 'not_found') {
      sendProblem(reply, 'not_found', 'Not found');
      return false;
    }
    if (!left.signal.aborted)
      reply.request.log.warn({ err: (err as Error).message }, 'just-in-time segment failed');
    sendProblem(reply, 'unavailable', 'The segment is being prepared; retry shortly', {
      headers: { 'retry-after': '1' },
    });
    return false;
  } finally {
    reply.raw.off('close', onClose);
  }
}
