import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { AppError } from '../../lib/errors';

/** Audiences of a playback token: video (HLS, MP4, AES key), thumbnail, storyboard. */
export type Audience = 'v' | 't' | 's';

export interface PlaybackClaims {
  sub: string;
  aud: Audience | Audience[];
  exp: number;
  nbf?: number;
  iat?: number;
}

/** Tolerated clock skew between the token issuer and this server, for `exp` and `nbf` (seconds). */
export const CLOCK_SKEW_S = 5;

const b64 = (v: Buffer | string) => Buffer.from(v).toString('base64url');

/** Signs an RS256 JWT with the given PKCS#8/PKCS#1 PEM or key object. */
export function signJwt(claims: object, kid: string, privateKey: KeyObject | string): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const head = b64(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
  const body = b64(JSON.stringify(claims));
  const sig = sign('RSA-SHA256', Buffer.from(`${head}.${body}`), key);
  return `${head}.${body}.${b64(sig)}`;
}

export type ParsedToken = {
  kid: string;
  signingInput: string;
  signature: Buffer;
  claims: Record<string, unknown>;
};

const B64URL = /^[A-Za-z0-9_-]+$/;

/** Splits and decodes a compact JWS; undefined unless it is RS256 with a `kid` and JSON claims. */
export function parseJwt(token: string): ParsedToken | undefined {
  if (token.length > 8192) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) return undefined;
  const [h, p, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>;
    // Only RS256: `none`, HS256 (key confusion) and anything else are refused before any key lookup.
    if (header?.alg !== 'RS256' || typeof header.kid !== 'string' || !header.kid) return undefined;
    if (header.crit !== undefined) return undefined;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as unknown;
    if (!claims || typeof claims !== 'object' || Array.isArray(claims)) return undefined;
    return {
      kid: header.kid,
      signingInput: `${h}.${p}`,
      signature: Buffer.from(s, 'base64url'),
      claims: claims as Record<string, unknown>,
    };
  } catch {
    return undefined;
  }
}

export function verifySignature(t: ParsedToken, publicKey: KeyObject): boolean {
  if (publicKey.asymmetricKeyType !== 'rsa') return false;
  try {
    return verify('RSA-SHA256', Buffer.from(t.signingInput), publicKey, t.signature);
  } catch {
    return false;
  }
}

/** Why a token's claims do not grant `aud` on `sub` at `nowS` (seconds), or undefined when they do. */
export function checkClaims(
  claims: Record<string, unknown>,
  expect: { sub: string; aud: Audience },
  nowS = Date.now() / 1000,
): string | undefined {
  const { sub, aud, exp, nbf } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'the token has no exp';
  if (nowS >= exp + CLOCK_SKEW_S) return 'the token has expired';
  if (nbf !== undefined && (typeof nbf !== 'number' || nowS < nbf - CLOCK_SKEW_S))
    return 'the token is not valid yet';
  if (sub !== expect.sub) return 'the token is for another video';
  const auds = Array.isArray(aud) ? aud : [aud];
  if (!auds.includes(expect.aud)) return `the token's audience does not include ${expect.aud}`;
  return undefined;
}

export const publicKeyOf = (pem: string): KeyObject => createPublicKey(pem);

/** RSA sizes a registered public key may have: 2048 bits at least, 8192 at most (verification cost). */
export const RSA_BITS = { min: 2048, max: 8192 } as const;

/**
 * Checks a public key a tenant registers (PEM, SPKI or PKCS#1) and returns it as SPKI PEM: RSA only (tokens
 * are RS256), 2048 to 8192 bits. A private key is refused, not turned into its public half.
 */
export function tenantPublicKey(pem: string): string {
  const refuse = (message: string) =>
    new AppError('validation_failed', `publicKey ${message}`, {
      errors: [{ path: 'body.publicKey', message }],
    });
  if (/PRIVATE KEY/.test(pem)) throw refuse('must be a public key; never send the private key');
  if (!/^\s*-----BEGIN (RSA )?PUBLIC KEY-----[\s\S]+-----END (RSA )?PUBLIC KEY-----\s*$/.test(pem))
    throw refuse('must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw refuse('is not a readable PEM public key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw refuse('must be an RSA key (tokens are RS256)');
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < RSA_BITS.min || bits > RSA_BITS.max)
    throw refuse(`must have ${RSA_BITS.min} to ${RSA_BITS.max} bits (it has ${bits})`);
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
