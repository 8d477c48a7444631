import type { VideosTable } from '../../db/schema';
import { isHeld } from '../videos';
import type { Audience } from './jwt';
import { type ReferrerRules, referrerAllowed } from './referrer';
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
 *
 * `check` looks up what it needs; `peek` decides from the caches alone (the stream role's fast lane,
 * stream/fast-lane.ts), or says it cannot. Both take every step through the same functions below.
 */
export class PlaybackGate {
  private readonly cache = new Map<string, { row: VideosTable | undefined; at: number }>();
  /** Verified tokens: token → `${revocations}|${video}|${aud}` → valid until (ms). */
  private readonly verified = new Map<string, Map<string, number>>();

  constructor(
    private readonly playback: PlaybackService,
    private readonly opts: GateOptions = {},
  ) {}

  async check(q: GateQuery): Promise<GateResult> {
    if (!PLAYBACK_ID.test(q.playbackId)) return NOT_FOUND;
    const row = await this.lookup(q.playbackId, q.generation);
    const served = rowVerdict(q, row);
    if (!('generation' in served) || !row) return served as GateResult;
    if (q.checkReferrer) {
      const refused = referrerVerdict(q, row, await this.playback.referrerRules(row.tenant_id, row.id));
      if (refused) return refused;
    }
    if (row.playback_policy !== 'public') {
      const why = await this.verify(row, q.token, q.audience);
      if (why) return { ok: false, code: 'forbidden', message: why, video: row };
    }
    return { ok: true, video: row, generation: served.generation };
  }

  /**
   * The verdict `check` would give, from the caches alone (no I/O, synchronous), or undefined when a part
   * of it is not cached or no longer fresh (the caller then runs `check`, which fills the caches). A token
   * is taken only when its verification is memoised; a refusal is always left to `check`.
   */
  peek(q: GateQuery): GateResult | undefined {
    if (!this.opts.cache) return undefined;
    if (!PLAYBACK_ID.test(q.playbackId)) return NOT_FOUND;
    const hit = this.cached(q.playbackId, q.generation);
    if (!hit) return undefined;
    const { row } = hit;
    const served = rowVerdict(q, row);
    if (!('generation' in served) || !row) return served as GateResult;
    if (q.checkReferrer) {
      const rules = this.playback.cachedReferrerRules(row.tenant_id, row.id);
      if (rules === undefined) return undefined;
      const refused = referrerVerdict(q, row, rules);
      if (refused) return refused;
    }
    if (row.playback_policy !== 'public' && !this.memoised(row, q.token, q.audience)) return undefined;
    return { ok: true, video: row, generation: served.generation };
  }

  /** The cached lookup of a playback id while fresh (see `lookup`), else undefined. */
  private cached(pid: string, generation?: string): { row: VideosTable | undefined } | undefined {
    const hit = this.cache.get(pid);
    if (!hit) return undefined;
    const served = hit.row && servedGeneration(hit.row);
    const age = Date.now() - hit.at;
    const stale = generation !== undefined && hit.row && generation !== served;
    return age < (stale ? NOT_YET_TTL_MS : served ? LOOKUP_TTL_MS : NOT_YET_TTL_MS) ? hit : undefined;
  }

  /**
   * Playback ids resolve from a short-lived cache when caching: a segment request costs no database read.
   * A video not served yet is looked up again soon (it turns playable within a second of its upload), and
   * so is one whose URL names another generation than the cached row serves (just published elsewhere).
   */
  private async lookup(pid: string, generation?: string): Promise<VideosTable | undefined> {
    if (!this.opts.cache) return this.playback.videos.findByPlaybackId(pid);
    const hit = this.cached(pid, generation);
    if (hit) return hit.row;
    const row = await this.playback.videos.findByPlaybackId(pid);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(pid, { row, at: Date.now() });
    return row;
  }

  private memoKey(row: VideosTable, aud: Audience): string {
    return `${this.playback.revocations}|${row.id}|${aud}`;
  }

  /** Whether this token's verification for the video and audience is memoised and fresh. */
  private memoised(row: VideosTable, token: string | undefined, aud: Audience): boolean {
    const until = token ? this.verified.get(token)?.get(this.memoKey(row, aud)) : undefined;
    return until !== undefined && until > Date.now();
  }

  /**
   * Why the token is refused, or undefined. When caching, a token verified for this video and audience is
   * trusted for VERIFIED_TTL_MS (an RSA verify per segment request is the largest part of its cost);
   * revocations made here drop the memo at once, elsewhere within seconds.
   */
  private async verify(row: VideosTable, token: string | undefined, aud: Audience) {
    if (!this.opts.cache) return this.playback.checkToken(row, token, aud);
    if (this.memoised(row, token, aud)) return undefined;
    const why = await this.playback.checkToken(row, token, aud);
    if (!token) return why;
    // Renewed after every verification that passes (it once was set only the first time: after the first
    // second every request paid an RSA verify again).
    const memo = this.memoKey(row, aud);
    let forToken = this.verified.get(token);
    if (why) forToken?.delete(memo);
    else {
      if (!forToken) {
        if (this.verified.size > 50_000) this.verified.clear();
        forToken = new Map();
        this.verified.set(token, forToken);
      }
      forToken.set(memo, Date.now() + VERIFIED_TTL_MS);
    }
    return why;
  }
}

/** What the row alone says: not found (missing, blocked, held, not served, another generation), or the generation. */
function rowVerdict(q: GateQuery, row: VideosTable | undefined): GateResult | { generation: string | null } {
  // Blocked, or held by moderation (modules/detection): not played.
  if (!row || row.status === 'blocked' || isHeld(row)) return NOT_FOUND;
  const generation = servedGeneration(row);
  if ((q.requireServed || q.generation !== undefined) && !generation) return NOT_FOUND;
  if (q.generation !== undefined && q.generation !== generation) return NOT_FOUND;
  return { generation };
}

/** The referrer policy's refusal, or undefined when the request's Referer passes. */
function referrerVerdict(
  q: GateQuery,
  row: VideosTable,
  rules: ReferrerRules | null,
): GateResult | undefined {
  const exempt = q.ownEmbedHost !== undefined && fromOwnEmbed(q.referer, q.ownEmbedHost, q.playbackId);
  if (!rules || exempt || referrerAllowed(rules, q.referer)) return undefined;
  return {
    ok: false,
    code: 'forbidden',
    message: 'Playback of this video is not allowed from this page',
    video: row,
  };
}
