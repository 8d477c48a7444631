// Standard Webhooks verification (the scheme of apps/server/src/modules/webhooks/sender.ts): the
// signature is `v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`, the key being the
// base64-decoded part of the `whsec_…` secret; `webhook-signature` may list several, space-separated (while
// a secret is rotated). WebCrypto's HMAC verify compares in constant time. Written here rather than taken
// from the `standardwebhooks` package: that one hashes in JavaScript (fast-sha256) and brings two
// dependencies for these few lines, and its errors would still need mapping to VodCloudError.
import { VodCloudError } from './errors.js';

export type WebhookEventType =
  | 'upload.completed'
  | 'video.playable'
  | 'video.ready'
  | 'video.errored'
  | 'video.deleted'
  | 'video.detection_completed'
  | 'recording.imported';

/** The body of a webhook delivery. */
export interface WebhookEvent<T = Record<string, unknown>> {
  /** The event's id, also `webhook-id`: deliveries of one event share it (deduplicate on it). */
  id: string;
  type: WebhookEventType | (string & {});
  createdAt: string;
  data: T;
}

export type WebhookHeaders =
  | Headers
  | Record<string, string | string[] | undefined>
  | { get(name: string): string | null };

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, in seconds (default 300). */
  toleranceSec?: number;
  /** The current time in ms (tests). */
  now?: number;
}

const SECRET_PREFIX = 'whsec_';

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const rec = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(rec).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : rec[key];
  return Array.isArray(v) ? v.join(' ') : v;
}

function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

const invalid = (detail: string) => new VodCloudError({ code: 'invalid_signature', detail });

/**
 * Checks a webhook delivery and returns its parsed body. `rawBody` must be the exact bytes received (not
 * re-serialised JSON). Throws VodCloudError `invalid_signature` when a header is missing, the timestamp is
 * outside the tolerance, or no signature matches.
 */
export async function verifyWebhook<T = Record<string, unknown>>(
  rawBody: string | Uint8Array | ArrayBuffer,
  headers: WebhookHeaders,
  secret: string,
  options: VerifyWebhookOptions = {},
): Promise<WebhookEvent<T>> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures)
    throw invalid('webhook-id, webhook-timestamp and webhook-signature headers are required');
  if (!/^\d+$/.test(timestamp)) throw invalid('webhook-timestamp is not a number of seconds');
  const toleranceSec = options.toleranceSec ?? 300;
  const nowSec = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(nowSec - Number(timestamp)) > toleranceSec)
    throw invalid(`webhook-timestamp is more than ${toleranceSec} s from now`);
  const keyBytes = base64ToBytes(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
  );
  if (!keyBytes?.length) throw new TypeError('secret must be the whsec_… secret of the webhook');
  const body = typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody);
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
  const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
  for (const entry of signatures.split(' ')) {
    const [version, sig] = entry.split(',', 2);
    if (version !== 'v1' || !sig) continue;
    const bytes = base64ToBytes(sig);
    if (bytes && (await crypto.subtle.verify('HMAC', key, bytes, signed))) {
      try {
        return JSON.parse(body) as WebhookEvent<T>;
      } catch {
        throw invalid('the body is not JSON');
      }
    }
  }
  throw invalid('no signature in webhook-signature matches the body');
}
