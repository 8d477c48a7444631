import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../../http/metrics';
import { MAX_URL_LENGTH } from '../../http/openapi';
import { EXPOSED_HEADERS } from '../../http/plugins';
import { loggedUrl, REQUEST_ID } from '../../http/request-log';
import { ID_PATTERN } from '../../lib/ids';
import type { GateResult, PlaybackGate } from '../playback';
import {
  isSegmentName,
  MASTER_PLAYLIST,
  MEDIA_PLAYLIST,
  masterKey,
  playlistKey,
  RENDITION_NAME,
  segmentIndex,
  segmentKey,
} from '../videos/index';
import { accelHeaders, viaFront } from './accel';
import type { DeliveryCounter } from './delivery-counter';
import type { PlaylistCache } from './playlist-cache';
import { IMMUTABLE, playlistHeaders, privately, SHORT } from './serving';

export interface FastLaneDeps {
  gate: PlaybackGate;
  playlists: PlaylistCache;
  delivery?: DeliveryCounter;
  metrics?: Metrics;
  log: Logger;
  /** Authorise the nginx front's requests for segments (accel.ts); file store only. */
  accel: boolean;
  /** Whether the app is closing: Fastify then answers 503 itself. */
  closing(): boolean;
}

/** An HLS URL of the stream routes (hls-routes.ts), by its route pattern. */
interface HlsUrl {
  route: string;
  pid: string;
  gen?: string;
  name?: string;
  file: string;
}

const TOKEN = /^[A-Za-z0-9_.-]+$/;

/** The routes the lane answers, parsed as find-my-way would match them; undefined: not one of them. */
function parseHls(path: string): HlsUrl | undefined {
  const p = path.split('/');
  if (p[1] !== 'hls' || p.some((s, i) => i > 0 && !s)) return undefined;
  if (p.length === 4 && p[3] === MASTER_PLAYLIST)
    return { route: '/hls/:pid/master.m3u8', pid: p[2]!, file: MASTER_PLAYLIST };
  if (p.length !== 5 && p.length !== 6) return undefined;
  const [gen, name, file] = p.length === 6 ? [p[3], p[4]!, p[5]!] : [undefined, p[3]!, p[4]!];
  if (gen !== undefined && !ID_PATTERN.test(gen)) return undefined;
  if (!RENDITION_NAME.test(name) || !(file === MEDIA_PLAYLIST || isSegmentName(file))) return undefined;
  const route = gen === undefined ? '/hls/:pid/:name/:file' : '/hls/:pid/:gen/:name/:file';
  return { route, pid: p[2]!, gen, name, file };
}

/** The one `token` query parameter in the form a JWT has (no escapes), null when absent, undefined: leave it. */
function tokenParam(query: string): string | null | undefined {
  let found: string | null = null;
  for (const pair of query.split('&')) {
    if (!pair.startsWith('token=')) {
      if (pair === 'token' || pair.startsWith('token[')) return undefined;
      continue;
    }
    const v = pair.slice(6);
    if (found !== null || !TOKEN.test(v)) return undefined;
    found = v;
  }
  return found;
}

/**
 * The stream role's fast lane: an HLS request (playlist, or a segment through the nginx front) whose every
 * input is in memory — the video's row, its referrer policy, a verified token, the playlist's text — is
 * answered here, before Fastify's routing and hooks, with the same headers, metrics, request log and
 * delivery counting as the route (hls-routes.ts). Anything else returns false and Fastify handles it,
 * which fills those caches for the next request. No I/O happens here; the gate decides by the same steps.
 */
export function createFastLane(d: FastLaneDeps) {
  const exposed = EXPOSED_HEADERS.join(', ');

  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    url: HlsUrl,
    headers: Record<string, string>,
    body: Buffer | string | undefined,
    counted: { tenantId: string; videoId: string } | undefined,
  ) => {
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const reqId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    const info = d.log.isLevelEnabled('info');
    if (info) d.log.info({ reqId, req: logged(req) }, 'incoming request');
    const length = body === undefined ? 0 : Buffer.byteLength(body);
    res.writeHead(200, {
      'x-request-id': reqId,
      'x-content-type-options': 'nosniff',
      vary: 'Origin',
      'access-control-expose-headers': exposed,
      'access-control-allow-origin': '*',
      ...headers,
      'content-length': String(length),
    });
    res.once('close', () => {
      const labels = { method: req.method!, route: url.route, status: '200' };
      const seconds = (performance.now() - started) / 1000;
      d.metrics?.requests.inc(labels);
      d.metrics?.fastLane.inc();
      d.metrics?.duration.observe(labels, seconds);
      if (info)
        d.log.info({ reqId, res: { statusCode: 200 }, responseTime: seconds * 1000 }, 'request completed');
      if (!counted || !d.delivery) return;
      const bytes = req.method === 'HEAD' || !res.writableFinished ? 0 : length;
      d.delivery.count(counted.tenantId, counted.videoId, bytes);
      if (bytes > 0) d.metrics?.deliveryBytes.inc({ route: url.route }, bytes);
    });
    if (req.method === 'HEAD' || body === undefined) res.end();
    else res.end(body);
    return true;
  };

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || d.closing()) return false;
    const raw = req.url ?? '';
    if (raw.length > MAX_URL_LENGTH || raw.includes('%')) return false;
    const q = raw.indexOf('?');
    const url = parseHls(q < 0 ? raw : raw.slice(0, q));
    if (!url) return false;
    // Fastify's req.host (the own-embed exemption) may come from X-Forwarded-Host: the route decides then.
    const host = req.headers.host;
    const forwarded = req.headers['x-forwarded-host'];
    if (forwarded !== undefined && forwarded !== host) return false;
    const token = q < 0 ? null : tokenParam(raw.slice(q + 1));
    if (token === undefined) return false;
    const pass: GateResult | undefined = d.gate.peek({
      playbackId: url.pid,
      audience: 'v',
      token: token ?? undefined,
      requireServed: true,
      generation: url.gen,
      checkReferrer: true,
      referer: req.headers.referer,
      ownEmbedHost: host,
    });
    if (!pass?.ok || !pass.generation) return false; // refusals and misses: the route answers
    const row = pass.video;
    const gen = pass.generation;
    const signed = row.playback_policy !== 'public';
    const counted = { tenantId: row.tenant_id, videoId: row.id };
    if (url.file === MASTER_PLAYLIST || url.file === MEDIA_PLAYLIST) {
      const h = req.headers;
      if (!signed && (h.range || h['if-none-match'] || h['if-modified-since'])) return false;
      const key =
        url.file === MASTER_PLAYLIST
          ? masterKey(row.tenant_id, row.id, gen)
          : playlistKey(row.tenant_id, row.id, gen, url.name!);
      const p = d.playlists.peek(key, row.published_generation === gen);
      if (!p) return false;
      // The token has only characters encodeURIComponent keeps (TOKEN): withToken without the escaping.
      const body = signed ? p.parts.join(token!) : p.body;
      return answer(req, res, url, playlistHeaders(p, signed), body, counted);
    }
    // A segment: only through the nginx front, and of a published generation (else just in time, maybe).
    if (!viaFront(d.accel, req.headers) || row.published_generation !== gen) return false;
    const key = segmentKey(row.tenant_id, row.id, gen, url.name!, segmentIndex(url.file)!);
    return answer(
      req,
      res,
      url,
      accelHeaders(key, 'video/mp2t', privately(url.gen === undefined ? SHORT : IMMUTABLE, signed)),
      undefined,
      undefined,
    );
  };
}

/** The request as Fastify's log line has it (http/request-log.ts; the peer's address), its token redacted. */
const logged = (req: IncomingMessage) => ({
  method: req.method,
  url: loggedUrl(req.url ?? ''),
  host: req.headers.host,
  remoteAddress: req.socket.remoteAddress,
  remotePort: req.socket.remotePort,
});
