// Playback tokens: RS256 JWTs the stream role verifies (apps/server/src/modules/playback/jwt.ts): header
// `kid` = the signing key's id, claims `sub` = the playback id, `aud` = v (video: HLS, MP4, AES key),
// t (thumbnail) or s (storyboard), `exp` (5 s of clock skew tolerated), optional `nbf`. Signed with jose,
// which runs on WebCrypto in browsers, Node, Deno and workers.
import { type CryptoKey, importPKCS8, type KeyObject, SignJWT } from 'jose';
import { VodCloudError } from './errors.js';

/** v: video (HLS, MP4, AES key), t: thumbnail, s: storyboard. */
export type PlaybackAudience = 'v' | 't' | 's';

export interface SignPlaybackTokenOptions {
  /** The signing key's id (`vc.signingKeys.create()` → `id`): the token's `kid`. */
  keyId: string;
  /**
   * PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, what `signingKeys.create()` returns), a WebCrypto CryptoKey
   * (RSASSA-PKCS1-v1_5, SHA-256) or, in Node, a KeyObject.
   */
  privateKey: string | CryptoKey | KeyObject;
  /** The video's `playback.id`. */
  playbackId: string;
  /** One audience or several (default `v`). */
  audience?: PlaybackAudience | PlaybackAudience[];
  /** Seconds from now until the token expires (default 3600). Ignored when `expiresAt` is given. */
  expiresIn?: number;
  /** When it expires: a Date or seconds since the epoch. */
  expiresAt?: Date | number;
  /** Not valid before: a Date or seconds since the epoch. */
  notBefore?: Date | number;
}

const seconds = (t: Date | number) => (t instanceof Date ? Math.floor(t.getTime() / 1000) : Math.floor(t));

/** A playback token for a `signed` video: add it to playback URLs as `?token=…` (or the player's `token` attribute). */
export async function signPlaybackToken(o: SignPlaybackTokenOptions): Promise<string> {
  if (!o.keyId || !o.playbackId) throw new TypeError('keyId and playbackId are required');
  const key =
    typeof o.privateKey === 'string'
      ? await importPKCS8(o.privateKey, 'RS256').catch((err: unknown) => {
          throw new VodCloudError({
            code: 'invalid_key',
            detail: `privateKey must be an RSA PKCS#8 PEM (-----BEGIN PRIVATE KEY-----): ${(err as Error).message}`,
            cause: err,
          });
        })
      : o.privateKey;
  const now = Math.floor(Date.now() / 1000);
  const exp = o.expiresAt !== undefined ? seconds(o.expiresAt) : now + (o.expiresIn ?? 3600);
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: o.keyId })
    .setSubject(o.playbackId)
    .setAudience(o.audience ?? 'v')
    .setIssuedAt(now)
    .setExpirationTime(exp);
  if (o.notBefore !== undefined) jwt.setNotBefore(seconds(o.notBefore));
  return jwt.sign(key);
}
