import { z } from 'zod';
import { Id, IsoTime } from './common';

/** A signing key as listed: the private key is never stored nor returned after creation. */
export const SigningKey = z
  .object({
    id: Id,
    /** true for the key the platform keeps per tenant to mint tokens with POST /v1/videos/{id}/playback-tokens. */
    managed: z.boolean(),
    createdAt: IsoTime,
    revokedAt: IsoTime.nullable(),
  })
  .meta({ id: 'SigningKey' });
export type SigningKey = z.infer<typeof SigningKey>;

/**
 * Creating a signing key: without a body the server makes an RSA-2048 pair and returns the private key once;
 * with `publicKey` it registers the tenant's own key (the private key never leaves the tenant).
 */
export const CreateSigningKey = z
  .object({
    /** SPKI ("BEGIN PUBLIC KEY") or PKCS#1 ("BEGIN RSA PUBLIC KEY") PEM of an RSA key of 2048 to 8192 bits. */
    publicKey: z.string().min(1).max(16_384).optional(),
  })
  .strict();

export const CreatedSigningKey = SigningKey.extend({
  /**
   * PKCS#8 PEM of the RSA-2048 private key; shown once. Sign RS256 JWTs with it, header kid = id. Absent
   * when the key was registered from a public key.
   */
  privateKey: z.string().optional(),
  /** SPKI PEM of the public key. */
  publicKey: z.string(),
}).meta({ id: 'CreatedSigningKey' });

export const TokenAudience = z
  .enum(['v', 't', 's'])
  .describe('v: video (HLS, MP4, AES key), t: thumbnail, s: storyboard');

export const CreatePlaybackToken = z
  .object({
    aud: TokenAudience.default('v'),
    /** Seconds from now; default one hour, at most 30 days. */
    expiresIn: z
      .number()
      .int()
      .min(10)
      .max(30 * 86_400)
      .default(3600),
  })
  .strict();

export const PlaybackToken = z
  .object({ token: z.string(), kid: Id, aud: TokenAudience, expiresAt: IsoTime })
  .meta({ id: 'PlaybackToken' });

const Referrer = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(
    /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be a host name (example.com) or a wildcard of its subdomains (*.example.com)',
  );

/** Which pages may embed a tenant's (or one video's) playback, by the host of the Referer header. */
export const ReferrerPolicyInput = z
  .object({
    /** Empty: any referrer. Otherwise the Referer's host must be one of these (`*.x.com` = any subdomain of x.com). */
    referrers: z.array(Referrer).max(100),
    /** Whether requests without a Referer header are served (apps, privacy settings). Default true. */
    allowNoReferrer: z.boolean().default(true),
  })
  .strict();

export const ReferrerPolicy = z
  .object({
    scope: z.enum(['tenant', 'video']),
    referrers: z.array(z.string()),
    allowNoReferrer: z.boolean(),
    updatedAt: IsoTime,
  })
  .meta({ id: 'ReferrerPolicy' });
