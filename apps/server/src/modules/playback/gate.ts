import type { VideosTable } from '../../db/schema';
import { isHeld } from '../videos';
import type { Audience } from './jwt';
import { referrerAllowed } from './referrer';
import type { PlaybackService } from './service';

/** A playback id as it may appear in a URL or a beacon. */
export const PLAYBACK_ID = /^[A-Za-z0-9_-]{10,40}$/;

/**
 * The generation a video plays from: the published one, else (still processing, already playable) the
 * current one, whose playlists are complete and whose missing segments are made just in time.
 */
export const servedGeneration = (row: VideosTable): string | null =>
  row.published_generation ?? (row.playable === 1 && row.generation ? row.generation : null);

export interface GateQuery {
  playbackId: string;
  /** The token audience the request needs when the video is signed. */
  audience: Audience;
  /** The playback token sent with the request (signed videos). */
  token: string | undefined;
  /** The video must have a served generation (players); beacons only need it to exist. */
  requireServed: boolean;
  /** A URL that names an output generation: only the served one passes, any other is not found. */
  generation?: string;
  /** Hold the request's Referer to the referrer policy of the video (else of its tenant). */
  checkReferrer: boolean;
  referer?: string;
  /**
   * This server's host, for stream requests: requests made by the player inside this server's own embed
   * page of the video carry that page as their Referer and pass (the embed page itself was already held
   * to the policy, its Referer being the embedding site). Unset: no exemption (the embed page).
   */
  ownEmbedHost?: string;
}

export type GateResult =
  | { ok: true; video: VideosTable; generation: string | null }
  | { ok: false; code: 'not_found' | 'forbidden'; message: string; video?: VideosTable };

export interface GateOptions {
  /**
   * Cache lookups (2 s for a served video, 100 ms for one not served yet) and verified tokens (1 s): the
   * stream role's per-segment path. A block, delete, republish or revocation is seen within seconds.
   */
  cache?: boolean;
}

const LOOKUP_TTL_MS = 2000;
const VERIFIED_TTL_MS = 1000;
const NOT_YET_TTL_MS = 100;
const NOT_FOUND = { ok: false, code: 'not_found', message: 'Not found' } as const;

/** Whether the Referer is this server's embed page of the video. */
function fromOwnEmbed(referer: string | undefined, host: string, pid: string): boolean {
  if (!referer) return false;
  try {
    const u = new URL(referer);
    return u.host === host && u.pathname === `/embed/${pid}`;
  } catch {
    return false;
  }
}

/**
 * The one playback check of stream, embed and beacons: playback id → video (not blocked, served when
 * required, of the generation the URL names), referrer policy, and the token of a signed video.
 */
export class PlaybackGate {
  private readonly cache = new Map<string, { row: VideosTable | undefined; at: number }>();
  private readonly verified = new Map<string, number>();

  constructor(
    private readonly playback: PlaybackService,
    private readonly opts: GateOptions = {},
  ) {}

  async check(q: GateQuery): Promise<GateResult> {
    if (!PLAYBACK_ID.test(q.playbackId)) return NOT_FOUND;
    const row = await this.lookup(q.playbackId, q.generation);
    // Blocked, or held by moderation (modules/detection): not played.
    if (!row || row.status === 'blocked' || isHeld(row)) return NOT_FOUND;
    const generation = servedGeneration(row);
    if ((q.requireServed || q.generation !== undefined) && !generation) return NOT_FOUND;
    if (q.generation !== undefined && q.generation !== generation) return NOT_FOUND;
    if (q.checkReferrer) {
      const rules = await this.playback.referrerRules(row.tenant_id, row.id);
      const exempt = q.ownEmbedHost !== undefined && fromOwnEmbed(q.referer, q.ownEmbedHost, q.playbackId);
      if (rules && !exempt && !referrerAllowed(rules, q.referer))
        return {
          ok: false,
          code: 'forbidden',
          message: 'Playback of this video is not allowed from this page',
          video: row,
        };
    }
    if (row.playback_policy !== 'public') {
      const why = await this.verify(row, q.token, q.audience);
      if (why) return { ok: false, code: 'forbidden', message: why, video: row };
    }
    return { ok: true, video: row, generation };
  }

  /**
   * Playback ids resolve from a short-lived cache when caching: a segment request costs no database read.
   * A video not served yet is looked up again soon (it turns playable within a second of its upload), and
   * so is one whose URL names another generation than the cached row serves (just published elsewhere).
   */
  private async lookup(pid: string, generation?: string): Promise<VideosTable | undefined> {
    if (!this.opts.cache) return this.playback.videos.findByPlaybackId(pid);
    const hit = this.cache.get(pid);
    if (hit) {
      const served = hit.row && servedGeneration(hit.row);
      const age = Date.now() - hit.at;
      const stale = generation !== undefined && hit.row && generation !== served;
      if (age < (stale ? NOT_YET_TTL_MS : served ? LOOKUP_TTL_MS : NOT_YET_TTL_MS)) return hit.row;
    }
    const row = await this.playback.videos.findByPlaybackId(pid);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(pid, { row, at: Date.now() });
    return row;
  }

  /**
   * Why the token is refused, or undefined. When caching, a token verified for this video and audience is
   * trusted for VERIFIED_TTL_MS (an RSA verify per segment request is the largest part of its cost);
   * revocations made here drop the memo at once, elsewhere within seconds.
   */
  private async verify(row: VideosTable, token: string | undefined, aud: Audience) {
    if (!this.opts.cache) return this.playback.checkToken(row, token, aud);
    const memo = token ? `${this.playback.revocations}|${row.id}|${aud}|${token}` : '';
    const until = memo ? this.verified.get(memo) : undefined;
    if (until !== undefined && until > Date.now()) return undefined;
    const why = await this.playback.checkToken(row, token, aud);
    if (!why && memo && until === undefined) {
      if (this.verified.size > 50_000) this.verified.clear();
      this.verified.set(memo, Date.now() + VERIFIED_TTL_MS);
    }
    return why;
  }
}
