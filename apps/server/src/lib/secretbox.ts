import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Secrets at rest. Two formats:
 *
 * - the master-key envelope `v1:<kid>:<base64 iv|tag|ciphertext>`: AES-256-GCM under a master key
 *   (VOD_MASTER_KEY, or one of VOD_MASTER_KEY_PREVIOUS while rotating), `kid` being the first 8 hex digits
 *   of sha256(key); the value's purpose and row (e.g. `webhooks.secret/<id>`) are the GCM additional data,
 *   so a value copied into another row, column or kind fails to open;
 * - the legacy format (no master key): base64 iv|tag|ciphertext under sha256(purpose, cluster secret).
 *
 * Written by hand on node:crypto: AES-GCM with additional data is what node:crypto offers directly, and no
 * well-kept npm library would add anything to these few lines but a dependency.
 */

const IV = 12;
const TAG = 16;
const ENVELOPE = /^v1:([0-9a-f]{8}):([A-Za-z0-9+/]+={0,2})$/;

/** Encrypts a small secret under a key derived from the cluster secret (the format without a master key). */
export function seal(plain: Buffer, secret: string, purpose: string): string {
  const key = createHash('sha256').update(`${purpose}\0${secret}`).digest();
  return gcmSeal(key, plain).toString('base64');
}

export function open(sealed: string, secret: string, purpose: string): Buffer {
  const key = createHash('sha256').update(`${purpose}\0${secret}`).digest();
  return gcmOpen(key, Buffer.from(sealed, 'base64'));
}

function gcmSeal(key: Buffer, plain: Buffer, aad?: string): Buffer {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', key, iv);
  if (aad !== undefined) c.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]);
}

function gcmOpen(key: Buffer, raw: Buffer, aad?: string): Buffer {
  if (raw.length < IV + TAG) throw new Error('sealed value too short');
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV), { authTagLength: TAG });
  d.setAuthTag(raw.subarray(IV, IV + TAG));
  if (aad !== undefined) d.setAAD(Buffer.from(aad, 'utf8'));
  return Buffer.concat([d.update(raw.subarray(IV + TAG)), d.final()]);
}

// ------------------------------------------------------------------ master keys

export interface MasterKey {
  /** First 8 hex digits of sha256(key): names the key in envelopes without revealing it. */
  kid: string;
  key: Buffer;
}

export const kidOf = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);

/** A new master key: 32 random bytes, base64url. */
export const generateMasterKey = () => randomBytes(32).toString('base64url');

/** Parses one master key (32 bytes as hex, base64 or base64url); throws a message naming `setting`. */
export function parseMasterKey(text: string, setting = 'VOD_MASTER_KEY'): MasterKey {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t))
    key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key?.length !== 32)
    throw new Error(
      `${setting} must be 32 random bytes written as base64, base64url or 64 hex digits ` +
        '(`vodcloud secrets generate-master-key` prints one)',
    );
  return { kid: kidOf(key), key };
}

/** Why a value could not be opened: `unknown-key` (no key of the ring has its kid), else `invalid`. */
export class SealError extends Error {
  constructor(
    readonly reason: 'unknown-key' | 'invalid',
    message: string,
    readonly kid?: string,
  ) {
    super(message);
    this.name = 'SealError';
  }
}

/** The kid of an envelope, or undefined when the value is not one. */
export function envelopeKid(value: string): string | undefined {
  return ENVELOPE.exec(value)?.[1];
}

/**
 * The master keys this process holds: the current one (seals) and previous ones (open only, while a
 * rotation runs). Without a current key nothing is sealed with a master key.
 */
export class KeyRing {
  private readonly byKid = new Map<string, MasterKey>();

  constructor(
    readonly current: MasterKey | null,
    previous: MasterKey[] = [],
  ) {
    for (const k of [...previous, ...(current ? [current] : [])]) this.byKid.set(k.kid, k);
  }

  /** From the settings' text (VOD_MASTER_KEY, comma-separated VOD_MASTER_KEY_PREVIOUS). */
  static from(current: string | undefined, previous: readonly string[] = []): KeyRing {
    return new KeyRing(
      current ? parseMasterKey(current) : null,
      previous.map((p) => parseMasterKey(p, 'VOD_MASTER_KEY_PREVIOUS')),
    );
  }

  get kids(): string[] {
    return [...this.byKid.keys()];
  }

  has(kid: string): boolean {
    return this.byKid.has(kid);
  }

  /** `v1:<kid>:<base64 iv|tag|ciphertext>` under the current key, `aad` bound as additional data. */
  seal(plain: Buffer, aad: string): string {
    if (!this.current) throw new Error('no master key (VOD_MASTER_KEY) to seal with');
    return `v1:${this.current.kid}:${gcmSeal(this.current.key, plain, aad).toString('base64')}`;
  }

  /** Opens an envelope; SealError when its key is not in the ring or it was altered or bound elsewhere. */
  open(envelope: string, aad: string): Buffer {
    const m = ENVELOPE.exec(envelope);
    if (!m) throw new SealError('invalid', 'not a sealed value (v1:<kid>:<data>)');
    const key = this.byKid.get(m[1]!);
    if (!key)
      throw new SealError(
        'unknown-key',
        `sealed with master key ${m[1]}, which is neither VOD_MASTER_KEY nor in VOD_MASTER_KEY_PREVIOUS`,
        m[1],
      );
    try {
      return gcmOpen(key.key, Buffer.from(m[2]!, 'base64'), aad);
    } catch {
      throw new SealError('invalid', `a value sealed with master key ${m[1]} fails authentication (${aad})`);
    }
  }
}

// ------------------------------------------------------------------ what the features use

/**
 * The kinds of sealed values, with what a value is stored as without a master key: `clear` or sealed under
 * the cluster secret (`cluster`, with the given legacy purpose).
 */
export const SEALED_KINDS = {
  'cluster-secret': { legacy: 'clear' },
  'webhook-secret': { legacy: 'clear' },
  'signing-key': { legacy: 'cluster', purpose: 'signing-key' },
  'hls-key': { legacy: 'cluster', purpose: 'hls-key' },
  'idempotent-response': { legacy: 'cluster', purpose: 'idempotent-response' },
} as const satisfies Record<string, { legacy: 'clear' | 'cluster'; purpose?: string }>;
export type SealedKind = keyof typeof SEALED_KINDS;

/** The additional data a value of `kind` for `ref` (its row) is bound to. */
export const aadOf = (kind: SealedKind, ref: string) => `vodcloud:${kind}:${ref}`;

/**
 * Seals and opens the secrets of the features: with a master key as envelopes bound to kind and row;
 * without one in the legacy way (clear, or under the cluster secret). Opening accepts every format, so
 * values written before a master key was set, or under a previous key, still read.
 */
export class SecretBox {
  constructor(
    readonly ring: KeyRing,
    private readonly clusterSecret: string,
  ) {}

  get sealing(): boolean {
    return this.ring.current !== null;
  }

  seal(kind: SealedKind, ref: string, plain: Buffer | string): string {
    const bytes = typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain;
    if (this.ring.current) return this.ring.seal(bytes, aadOf(kind, ref));
    const k: { legacy: string; purpose?: string } = SEALED_KINDS[kind];
    return k.legacy === 'clear' ? bytes.toString('utf8') : seal(bytes, this.clusterSecret, k.purpose!);
  }

  open(kind: SealedKind, ref: string, stored: string): Buffer {
    if (envelopeKid(stored)) return this.ring.open(stored, aadOf(kind, ref));
    const k: { legacy: string; purpose?: string } = SEALED_KINDS[kind];
    return k.legacy === 'clear' ? Buffer.from(stored, 'utf8') : open(stored, this.clusterSecret, k.purpose!);
  }

  openText(kind: SealedKind, ref: string, stored: string): string {
    return this.open(kind, ref, stored).toString('utf8');
  }

  /** True when `stored` should be (re)sealed: not yet sealed, or (rotating) sealed under another key. */
  needsSealing(stored: string, rotate: boolean): boolean {
    if (!this.ring.current) return false;
    const kid = envelopeKid(stored);
    return kid === undefined || (rotate && kid !== this.ring.current.kid);
  }
}
