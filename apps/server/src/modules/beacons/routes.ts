import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Database } from '../../db/connect';
import { sendProblem } from '../../http/problem';
import { newId } from '../../lib/ids';
import { nowIso } from '../../lib/time';
import { PLAYBACK_ID, PlaybackGate, type PlaybackService } from '../playback';
import { BeaconsRepository } from './repository';

export const BEACON_EVENTS = [
  'view_start',
  'playing',
  'heartbeat',
  'rebuffer_start',
  'rebuffer_end',
  'error',
  'view_end',
] as const;

/** The body of POST /v1/beacons (JSON, sent as application/json or text/plain, e.g. by sendBeacon). */
export const Beacon = z
  .object({
    event: z.enum(BEACON_EVENTS),
    viewId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
    playbackId: z.string().regex(PLAYBACK_ID),
    position: z.number().finite().min(0).max(1e7),
    startupMs: z.number().int().min(0).max(3_600_000).optional(),
    watchedSec: z.number().finite().min(0).max(86_400).optional(),
    error: z.string().max(1000).optional(),
    /** The playback token (aud v) of a signed video. */
    token: z.string().max(4096).optional(),
  })
  .strict();

const BODY_LIMIT = 8 * 1024;

export interface BeaconDeps {
  db: Database;
  playback: PlaybackService;
}

/**
 * POST /v1/beacons: QoE events from players. Public (no API key): authorised by the playback id and, for
 * a signed video, a playback token for aud `v` in the body. The global rate limiter applies (per address).
 * Registered as an encapsulated plugin so that its text/plain parser (navigator.sendBeacon's default
 * type, which also needs no CORS preflight) does not leak into the JSON-only API.
 */
export async function beaconRoutes(app: FastifyInstance, d: BeaconDeps): Promise<void> {
  const repo = new BeaconsRepository(d.db);
  // Uncached, no referrer check (a beacon's Referer is whatever page the player runs in) and no served
  // generation needed (a player may report an error for a video that never became playable).
  const gate = new PlaybackGate(d.playback);
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      const err = Object.assign(new Error('The beacon body is not JSON'), { statusCode: 400 });
      done(err, undefined);
    }
  });
  app.post(
    '/v1/beacons',
    {
      bodyLimit: BODY_LIMIT,
      config: {
        access: 'public',
        audit: { skip: 'player beacons: public, no key; authorised by a playback id' },
      },
      schema: {
        operationId: 'sendBeacon',
        tags: ['beacons'],
        summary: 'A quality-of-experience event from a player',
        description:
          'Public: authorised by the playback id and, for a signed video, its playback token (aud v) in the ' +
          'body. JSON sent as application/json or text/plain (navigator.sendBeacon), at most 8 KiB.',
        security: [],
        doc: {
          body: {
            content: {
              'application/json': z.toJSONSchema(Beacon, { io: 'input' }),
              'text/plain': z.toJSONSchema(Beacon, { io: 'input' }),
            },
          },
          responses: { 202: { description: 'Accepted' } },
          errors: [400, 403, 404, 413, 415],
        },
      },
    },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const parsed = Beacon.safeParse(req.body);
      if (!parsed.success)
        return sendProblem(
          reply,
          'validation_failed',
          parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
        );
      const b = parsed.data;
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
      const header = (v: string | string[] | undefined, max: number) =>
        typeof v === 'string' && v ? v.slice(0, max) : null;
      await repo.insert({
        id: newId(),
        tenant_id: video.tenant_id,
        video_id: video.id,
        playback_id: video.playback_id,
        view_id: b.viewId,
        event: b.event,
        position: b.position,
        startup_ms: b.startupMs ?? null,
        watched_sec: b.watchedSec ?? null,
        error: b.error ?? null,
        user_agent: header(req.headers['user-agent'], 300),
        referrer: header(req.headers.referer, 500),
        created_at: nowIso(),
      });
      return reply.code(202).header('cache-control', 'no-store').send();
    },
  );
}
