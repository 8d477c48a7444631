import { createPrivateKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { CreatePlaybackToken, CreateSigningKey, ReferrerPolicyInput } from '@vodcloud/contracts';
import type { z } from 'zod';
import type { Database } from '../../db/connect';
import type { ReferrerPoliciesTable, SigningKeysTable, VideosTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { limiter } from '../../lib/limiter';
import type { SecretBox } from '../../lib/secretbox';
import { nowIso } from '../../lib/time';
import {
  type Audience,
  checkClaims,
  parseJwt,
  publicKeyOf,
  signJwt,
  tenantPublicKey,
  verifySignature,
} from './jwt';
import type { ReferrerRules } from './referrer';
import { PlaybackRepository } from './repository';

const CACHE_MAX = 10_000;
/** RSA key generations at once per process: each holds a libuv thread (shared with file I/O) for ~0.1 s. */
const KEYGEN_CONCURRENCY = 2;

const generateRsa = promisify(generateKeyPair);

/** Generations waiting for their turn before more are refused (503, retry): a bound on queued work. */
const KEYGEN_QUEUE = 32;

export function keyView(row: SigningKeysTable) {
  return {
    id: row.id,
    managed: row.managed === 1,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

function policyView(row: ReferrerPoliciesTable) {
  return {
    scope: row.video_id === '' ? ('tenant' as const) : ('video' as const),
    referrers: JSON.parse(row.referrers) as string[],
    allowNoReferrer: row.allow_no_referrer === 1,
    updatedAt: row.updated_at,
  };
}

/** What playback reads of videos, through the videos repository (which owns the table). */
export interface VideoLookup {
  find(tenantId: string, id: string): Promise<VideosTable | undefined>;
  findByPlaybackId(playbackId: string): Promise<VideosTable | undefined>;
}

type CachedKey = { tenantId: string; publicKey: KeyObject; revoked: boolean } | null;

const keygen = limiter(
  KEYGEN_CONCURRENCY,
  KEYGEN_QUEUE,
  () =>
    new AppError('unavailable', 'Too many signing keys are being made; retry in a few seconds', {
      headers: { 'retry-after': '2' },
    }),
);

/** A small time-bounded cache; entries older than ttlMs are reloaded. */
class TtlCache<T> {
  private readonly map = new Map<string, { at: number; value: T }>();
  constructor(private readonly ttlMs: number) {}
  get(key: string): T | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (Date.now() - e.at >= this.ttlMs) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }
  set(key: string, value: T): void {
    if (this.map.size >= CACHE_MAX) this.map.clear();
    this.map.set(key, { at: Date.now(), value });
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
}

/**
 * Signing keys, playback tokens and referrer policies.
 *
 * The stream role caches public keys (and unknown kids) and referrer policies in memory for `cacheTtlMs`
 * (default 3 s). A revocation or policy change made through this process takes effect at once; on other
 * nodes within that TTL at most.
 */
export class PlaybackService {
  /** Bumped by every revocation here, so callers that memoise verified tokens can drop them at once. */
  revocations = 0;
  readonly repo: PlaybackRepository;
  private readonly keys: TtlCache<CachedKey>;
  private readonly policies: TtlCache<ReferrerRules | null>;
  private readonly managed: TtlCache<{ kid: string; key: KeyObject }>;
  private readonly creatingManaged = new Map<string, Promise<SigningKeysTable>>();

  constructor(
    db: Database,
    /** The videos repository. */
    readonly videos: VideoLookup,
    /** Seals the managed keys' private keys (lib/secretbox.ts). */
    private readonly box: SecretBox,
    opts: { cacheTtlMs?: number } = {},
  ) {
    this.repo = new PlaybackRepository(db);
    const ttl = opts.cacheTtlMs ?? 3000;
    this.keys = new TtlCache(ttl);
    this.policies = new TtlCache(ttl);
    this.managed = new TtlCache(ttl);
  }

  // ---- signing keys ----

  /**
   * A new RSA-2048 pair, made on the libuv thread pool (never on the event loop: a generation takes 50-500
   * ms of CPU), at most KEYGEN_CONCURRENCY at a time.
   */
  private newKeyPair() {
    return keygen(() =>
      generateRsa('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      }),
    );
  }

  private async insertKey(tenantId: string, managed: boolean, publicKey: string, privateKey?: string) {
    const id = newId();
    const row: SigningKeysTable = {
      id,
      tenant_id: tenantId,
      public_key: publicKey,
      private_key: managed && privateKey ? this.box.seal('signing-key', id, privateKey) : null,
      managed: managed ? 1 : 0,
      created_at: nowIso(),
      revoked_at: null,
    };
    await this.repo.insertKey(row);
    return row;
  }

  /**
   * Creates a signing key: a new pair whose private key is returned once, or, given the tenant's own public
   * key (PEM), registers it and returns no private key.
   */
  async createKey(tenantId: string, input?: z.infer<typeof CreateSigningKey> | null) {
    if (input?.publicKey !== undefined) {
      const publicKey = tenantPublicKey(input.publicKey);
      const row = await this.insertKey(tenantId, false, publicKey);
      return { ...keyView(row), publicKey };
    }
    const { publicKey, privateKey } = await this.newKeyPair();
    const row = await this.insertKey(tenantId, false, publicKey);
    return { ...keyView(row), privateKey, publicKey };
  }

  async listKeys(tenantId: string, limit: number, beforeId?: string) {
    return (await this.repo.listKeys(tenantId, limit, beforeId)).map(keyView);
  }

  async getKey(tenantId: string, id: string) {
    const row = await this.repo.findKey(tenantId, id);
    if (!row) throw new AppError('not_found', 'Signing key not found');
    return keyView(row);
  }

  /** Revokes a key (idempotent); tokens signed with it stop playing. Revoking the managed key rotates it. */
  async revokeKey(tenantId: string, id: string): Promise<void> {
    const row = await this.repo.findKey(tenantId, id);
    if (!row) throw new AppError('not_found', 'Signing key not found');
    await this.repo.revokeKey(tenantId, id, nowIso());
    this.revocations++;
    this.keys.delete(id);
    this.managed.delete(tenantId);
  }

  // ---- tokens ----

  private async managedKey(tenantId: string): Promise<{ kid: string; key: KeyObject }> {
    const cached = this.managed.get(tenantId);
    if (cached) return cached;
    let row = await this.repo.managedKey(tenantId);
    if (!row) row = await this.newManagedKey(tenantId);
    const key = createPrivateKey(this.box.openText('signing-key', row.id, row.private_key!));
    const entry = { kid: row.id, key };
    this.managed.set(tenantId, entry);
    return entry;
  }

  /** The tenant's first managed key; concurrent first mints in this process share one generation. */
  private newManagedKey(tenantId: string): Promise<SigningKeysTable> {
    let pending = this.creatingManaged.get(tenantId);
    if (!pending) {
      pending = this.newKeyPair()
        .then(({ publicKey, privateKey }) => this.insertKey(tenantId, true, publicKey, privateKey))
        .finally(() => this.creatingManaged.delete(tenantId));
      this.creatingManaged.set(tenantId, pending);
    }
    return pending;
  }

  /** Mints a token for a video of the tenant with the platform-held (managed) key of the tenant. */
  async mintToken(tenantId: string, videoId: string, input: z.infer<typeof CreatePlaybackToken>) {
    const video = await this.videos.find(tenantId, videoId);
    if (!video) throw new AppError('not_found', 'Video not found');
    const { kid, key } = await this.managedKey(tenantId);
    const now = Math.floor(Date.now() / 1000);
    const exp = now + input.expiresIn;
    const token = signJwt({ sub: video.playback_id, aud: input.aud, iat: now, exp }, kid, key);
    return { token, kid, aud: input.aud, expiresAt: new Date(exp * 1000).toISOString() };
  }

  private async publicKey(kid: string): Promise<CachedKey> {
    const cached = this.keys.get(kid);
    if (cached !== undefined) return cached;
    let entry: CachedKey = null;
    if (/^[0-9A-HJKMNP-TV-Z]{26}$/.test(kid)) {
      const row = await this.repo.keyById(kid);
      if (row)
        entry = {
          tenantId: row.tenant_id,
          publicKey: publicKeyOf(row.public_key),
          revoked: row.revoked_at !== null,
        };
    }
    this.keys.set(kid, entry);
    return entry;
  }

  /**
   * Checks a playback token for `aud` on a video; returns why it is refused, or undefined when it grants
   * access. RS256 only; the key must be the video's tenant's and not revoked.
   */
  async checkToken(
    video: { tenant_id: string; playback_id: string },
    token: string | undefined,
    aud: Audience,
  ): Promise<string | undefined> {
    if (!token) return 'This video needs a signed playback token (?token=)';
    const parsed = parseJwt(token);
    if (!parsed) return 'The playback token is malformed or not RS256';
    const key = await this.publicKey(parsed.kid);
    if (!key || key.tenantId !== video.tenant_id) return 'The playback token names an unknown key';
    if (key.revoked) return 'The playback token was signed with a revoked key';
    if (!verifySignature(parsed, key.publicKey)) return 'The playback token signature is invalid';
    const why = checkClaims(parsed.claims, { sub: video.playback_id, aud });
    return why && `The playback token is refused: ${why}`;
  }

  // ---- referrer policies ----

  /** The rules that apply to a video: its own policy, else its tenant's, else none (null). */
  async referrerRules(tenantId: string, videoId: string): Promise<ReferrerRules | null> {
    const k = `${tenantId}/${videoId}`;
    const cached = this.policies.get(k);
    if (cached !== undefined) return cached;
    const rows = await this.repo.policies(tenantId, videoId);
    const row = rows.find((r) => r.video_id === videoId) ?? rows.find((r) => r.video_id === '');
    const rules = row
      ? { referrers: JSON.parse(row.referrers) as string[], allowNoReferrer: row.allow_no_referrer === 1 }
      : null;
    this.policies.set(k, rules);
    return rules;
  }

  /** The rules while cached (null: none apply), or undefined when `referrerRules` must look them up. */
  cachedReferrerRules(tenantId: string, videoId: string): ReferrerRules | null | undefined {
    return this.policies.get(`${tenantId}/${videoId}`);
  }

  private async assertVideo(tenantId: string, videoId: string) {
    if (videoId && !(await this.videos.find(tenantId, videoId)))
      throw new AppError('not_found', 'Video not found');
  }

  async getPolicy(tenantId: string, videoId = '') {
    await this.assertVideo(tenantId, videoId);
    const row = await this.repo.policy(tenantId, videoId);
    if (!row) throw new AppError('not_found', 'No referrer policy is set');
    return policyView(row);
  }

  async putPolicy(tenantId: string, videoId: string, input: z.infer<typeof ReferrerPolicyInput>) {
    await this.assertVideo(tenantId, videoId);
    const row: ReferrerPoliciesTable = {
      tenant_id: tenantId,
      video_id: videoId,
      referrers: JSON.stringify([...new Set(input.referrers)]),
      allow_no_referrer: input.allowNoReferrer ? 1 : 0,
      updated_at: nowIso(),
    };
    await this.repo.putPolicy(row);
    this.policies.clear();
    return policyView(row);
  }

  async deletePolicy(tenantId: string, videoId = ''): Promise<void> {
    await this.assertVideo(tenantId, videoId);
    if ((await this.repo.deletePolicy(tenantId, videoId)) === 0)
      throw new AppError('not_found', 'No referrer policy is set');
    this.policies.clear();
  }
}
