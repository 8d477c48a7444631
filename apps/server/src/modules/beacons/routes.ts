import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { BeaconsTable } from '../../db/schema';
import { sendProblem } from '../../http/problem';
import { newId } from '../../lib/ids';
import { PLAYBACK_ID, PlaybackGate, type PlaybackService } from '../playback';
import { BeaconBufferFull, type StatsService } from '../stats';

export const BEACON_EVENTS = [
  'view_start',
  'playing',
  'heartbeat',
  'rebuffer_start',
  'rebuffer_end',
  'rendition_change',
  'error',
  'view_end',
] as const;

const VIEW_ID = /^[A-Za-z0-9_-]{8,64}$/;
const position = z.number().finite().min(0).max(1e7);
const startupMs = z.number().int().min(0).max(3_600_000);
const watchedSec = z.number().finite().min(0).max(86_400);
const error = z.string().max(1000);
const token = z.string().max(4096).describe('The playback token (aud v) of a signed video');
const epochMs = z.number().int().min(0).max(1e14);

/** One event of a batch. */
export const BeaconEvent = z
  .object({
    event: z.enum(BEACON_EVENTS),
    at: epochMs.optional().describe("When it happened (the player's clock, epoch ms)"),
    seq: z.number().int().min(0).max(1e9).optional().describe('Its number within the view, from 0'),
    position,
    startupMs: startupMs.optional().describe('playing: from play intent to the first frame'),
    watchedSec: watchedSec
      .optional()
      .describe('Seconds played since the previous report (not wall time; seeks and pauses excluded)'),
    playedSec: z
      .number()
      .finite()
      .min(0)
      .max(864_000)
      .optional()
      .describe(
        'Seconds played since the view started: a lost batch loses nothing (preferred over watchedSec)',
      ),
    rebufferMs: z.number().int().min(0).max(86_400_000).optional().describe('rebuffer_end: the stall'),
    rendition: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,40}$/)
      .optional()
      .describe('The rendition playing, e.g. `720p`'),
    error: error.optional(),
  })
  .strict();

/** The body of POST /v1/beacons: a batch of one view's events (what <vod-player> sends). */
export const BeaconBatch = z
  .object({
    playbackId: z.string().regex(PLAYBACK_ID),
    viewId: z.string().regex(VIEW_ID),
    token: token.optional(),
    sentAt: epochMs.optional().describe("When the batch was sent (the player's clock): corrects its clock"),
    events: z.array(BeaconEvent).min(1).max(100),
  })
  .strict();

/** The single-event body (the first version, still accepted). */
export const Beacon = z
  .object({
    event: z.enum(BEACON_EVENTS),
    viewId: z.string().regex(VIEW_ID),
    playbackId: z.string().regex(PLAYBACK_ID),
    position,
    startupMs: startupMs.optional(),
    watchedSec: watchedSec.optional(),
    error: error.optional(),
    token: token.optional(),
  })
  .strict();

const BODY_LIMIT = 64 * 1024;
/** Events are dated at most this far back (a player's clock is corrected, never trusted beyond this). */
const MAX_AGE_MS = 24 * 3_600_000;

export interface BeaconDeps {
  playback: PlaybackService;
  stats: StatsService;
  /** Requests per address per minute (VOD_BEACON_RATE_PER_MINUTE; 0: none). */
  ratePerMinute: number;
}

/**
 * POST /v1/beacons: QoE events from players, one view's batch per request. Public (no API key): authorised
 * by the playback id and, for a signed video, a playback token for aud `v` in the body. The global rate
 * limiter applies (per address). The rows are buffered and written in batches (modules/stats/ingest.ts).
 * Registered as an encapsulated plugin so that its text/plain parser (navigator.sendBeacon's default
 * type, which also needs no CORS preflight) does not leak into the JSON-only API.
 */
export async function beaconRoutes(app: FastifyInstance, d: BeaconDeps): Promise<void> {
  // Cached lookups (a beacon costs no database read), no referrer check (a beacon's Referer is whatever page
  // the player runs in) and no served generation needed (a player may report an error for a video that never
  // became playable).
  const gate = new PlaybackGate(d.playback, { cache: true });
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      const err = Object.assign(new Error('The beacon body is not JSON'), { statusCode: 400 });
      done(err, undefined);
    }
  });
  const schema = z.toJSONSchema(BeaconBatch, { io: 'input' });
  app.post(
    '/v1/beacons',
    {
      bodyLimit: BODY_LIMIT,
      config: {
        access: 'public',
        audit: { skip: 'player beacons: public, no key; authorised by a playback id' },
        // Per address with its own bound: players behind one NAT share it (the API's limit would stop them).
        rateLimit:
          d.ratePerMinute > 0
            ? {
                max: d.ratePerMinute,
                timeWindow: 60_000,
                keyGenerator: (req: FastifyRequest) => `b:${req.ip}`,
              }
            : false,
      },
      schema: {
        operationId: 'sendBeacon',
        tags: ['beacons'],
        summary: "Quality-of-experience events from a player: a batch of one view's events",
        description:
          'Public: authorised by the playback id and, for a signed video, its playback token (aud v) in the ' +
          'body. JSON sent as application/json or text/plain (navigator.sendBeacon), at most 64 KiB and 100 ' +
          'events. The single-event body of the first version ({event, viewId, playbackId, position, …}) is ' +
          'accepted too. 503 with Retry-After when the buffer is full (the database has been away long).',
        security: [],
        doc: {
          body: { content: { 'application/json': schema, 'text/plain': schema } },
          responses: { 202: { description: 'Accepted' } },
          errors: [400, 403, 404, 413, 415, 429, 503],
        },
      },
    },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const body = req.body as Record<string, unknown> | null;
      const batch = parseBody(body);
      if (!batch.ok) return sendProblem(reply, 'validation_failed', batch.message);
      const b = batch.value;
      const pass = await gate.check({
        playbackId: b.playbackId,
        audience: 'v',
        token: b.token,
        requireServed: false,
        checkReferrer: false,
      });
      if (!pass.ok)
        return sendProblem(
          reply,
          pass.code,
          pass.code === 'not_found' ? 'Unknown playback id' : pass.message,
        );
      const video = pass.video;
      const now = Date.now();
      const header = (v: string | string[] | undefined, max: number) =>
        typeof v === 'string' && v ? v.slice(0, max) : null;
      const ua = header(req.headers['user-agent'], 300);
      const referrer = header(req.headers.referer, 500);
      const viewer = await d.stats.viewers.hash(req.ip, ua ?? '', now);
      const sentAt = b.sentAt;
      const rows: BeaconsTable[] = b.events.map((e) => {
        // The player's clock is corrected by the server's: the event happened (sentAt − at) before now.
        const ago =
          sentAt !== undefined && e.at !== undefined ? Math.min(MAX_AGE_MS, Math.max(0, sentAt - e.at)) : 0;
        return {
          id: newId(),
          tenant_id: video.tenant_id,
          video_id: video.id,
          playback_id: video.playback_id,
          view_id: b.viewId,
          event: e.event,
          position: e.position,
          startup_ms: e.startupMs ?? null,
          watched_sec: e.watchedSec ?? null,
          played_sec: e.playedSec ?? null,
          error: e.error ?? null,
          user_agent: ua,
          referrer,
          created_at: new Date(now - ago).toISOString(),
          rendition: e.rendition ?? null,
          rebuffer_ms: e.rebufferMs ?? null,
          viewer_hash: viewer,
          seq: e.seq ?? null,
        };
      });
      try {
        await d.stats.ingest.accept(rows);
      } catch (err) {
        if (err instanceof BeaconBufferFull)
          return sendProblem(reply, 'unavailable', err.message, { headers: { 'retry-after': '5' } });
        throw err;
      }
      return reply.code(202).header('cache-control', 'no-store').send();
    },
  );
}

type Parsed = { ok: true; value: z.infer<typeof BeaconBatch> } | { ok: false; message: string };

const describe = (e: z.ZodError) =>
  e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');

/** A batch, or a single event (the first version) as a batch of one. */
function parseBody(body: Record<string, unknown> | null): Parsed {
  if (body && typeof body === 'object' && 'events' in body) {
    const p = BeaconBatch.safeParse(body);
    return p.success ? { ok: true, value: p.data } : { ok: false, message: describe(p.error) };
  }
  const p = Beacon.safeParse(body);
  if (!p.success) return { ok: false, message: describe(p.error) };
  const { playbackId, viewId, token, ...event } = p.data;
  return { ok: true, value: { playbackId, viewId, token, events: [event] } };
}
