import { createHmac, timingSafeEqual } from 'node:crypto';
import { isValidKey } from './keys';

/**
 * Presigned URLs for stores that have no signing of their own (the file adapter):
 *   {publicBaseUrl}/_storage/{key}?expires={unix seconds}&sig={base64url HMAC-SHA256}[&ct=...][&rct=...]
 * The signature covers the HTTP method, the key, the expiry and the content-type constraints, so a GET URL
 * cannot be used to PUT, and neither the key nor the expiry can be changed.
 */
export const PRESIGN_PATH = '/_storage/';

export type PresignMethod = 'GET' | 'PUT';

export interface PresignedParams {
  key: string;
  method: PresignMethod | string;
  /** Unix time in seconds. */
  expires: number;
  sig: string;
  /** PUT: the Content-Type the uploader must send. */
  contentType?: string;
  /** GET: the Content-Type to answer with. */
  responseContentType?: string;
}

export type VerifyResult =
  | {
      ok: true;
      key: string;
      method: PresignMethod;
      expires: number;
      contentType?: string;
      responseContentType?: string;
    }
  | { ok: false; reason: 'malformed' | 'expired' | 'bad_signature' | 'invalid_key' };

function stringToSign(p: Omit<PresignedParams, 'sig'>): string {
  return [
    'vod-presign-v1',
    p.method,
    p.key,
    String(p.expires),
    p.contentType ?? '',
    p.responseContentType ?? '',
  ].join('\n');
}

function sign(p: Omit<PresignedParams, 'sig'>, secret: string): string {
  return createHmac('sha256', secret).update(stringToSign(p)).digest('base64url');
}

/** Encodes a key for a URL path, segment by segment, keeping the "/" separators. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

export interface CreatePresignedUrlOptions {
  publicBaseUrl: string;
  secret: string;
  method: PresignMethod;
  key: string;
  expiresIn: number;
  contentType?: string;
  responseContentType?: string;
  /** Current time in ms (tests). */
  now?: number;
}

export function createPresignedUrl(o: CreatePresignedUrlOptions): string {
  if (!o.secret) throw new Error('presigning needs a signing secret');
  if (!Number.isFinite(o.expiresIn) || o.expiresIn <= 0)
    throw new Error('expiresIn must be a positive number');
  const expires = Math.floor((o.now ?? Date.now()) / 1000) + Math.ceil(o.expiresIn);
  const params = {
    key: o.key,
    method: o.method,
    expires,
    contentType: o.contentType,
    responseContentType: o.responseContentType,
  };
  const query = new URLSearchParams({ expires: String(expires) });
  if (o.contentType !== undefined) query.set('ct', o.contentType);
  if (o.responseContentType !== undefined) query.set('rct', o.responseContentType);
  query.set('sig', sign(params, o.secret));
  return `${o.publicBaseUrl.replace(/\/+$/, '')}${PRESIGN_PATH}${encodeKeyPath(o.key)}?${query}`;
}

function parseUrl(input: string | URL): Omit<PresignedParams, 'method'> | null {
  let url: URL;
  try {
    url = typeof input === 'string' ? new URL(input, 'http://localhost') : input;
  } catch {
    return null;
  }
  const at = url.pathname.indexOf(PRESIGN_PATH);
  if (at < 0) return null;
  let key: string;
  try {
    key = url.pathname
      .slice(at + PRESIGN_PATH.length)
      .split('/')
      .map(decodeURIComponent)
      .join('/');
  } catch {
    return null;
  }
  const expires = url.searchParams.get('expires');
  const sig = url.searchParams.get('sig');
  if (!expires || !/^\d{1,15}$/.test(expires) || !sig) return null;
  return {
    key,
    expires: Number(expires),
    sig,
    contentType: url.searchParams.get('ct') ?? undefined,
    responseContentType: url.searchParams.get('rct') ?? undefined,
  };
}

/**
 * Checks a presigned URL (or its parts) made by `createPresignedUrl` / `FileObjectStore.presign*`.
 * For a URL, `opts.method` is the HTTP method of the request being served (default GET).
 * The HTTP route must also enforce `contentType` on PUT and answer with `responseContentType` on GET.
 */
export function verifyPresigned(
  input: string | URL | PresignedParams,
  secret: string,
  opts: { method?: string; now?: number } = {},
): VerifyResult {
  if (!secret) return { ok: false, reason: 'malformed' };
  let p: PresignedParams;
  if (typeof input === 'string' || input instanceof URL) {
    const parsed = parseUrl(input);
    if (!parsed) return { ok: false, reason: 'malformed' };
    p = { ...parsed, method: opts.method ?? 'GET' };
  } else {
    p = input;
  }
  const method = String(p.method).toUpperCase();
  if (
    (method !== 'GET' && method !== 'PUT') ||
    typeof p.sig !== 'string' ||
    !Number.isSafeInteger(p.expires)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof p.key !== 'string' || !isValidKey(p.key)) return { ok: false, reason: 'invalid_key' };
  const expected = Buffer.from(sign({ ...p, method }, secret), 'utf8');
  const given = Buffer.from(p.sig, 'utf8');
  // timingSafeEqual needs equal lengths; on a length mismatch compare expected with itself to keep timing flat.
  const sameLength = given.length === expected.length;
  const equal = timingSafeEqual(sameLength ? given : expected, expected) && sameLength;
  if (!equal) return { ok: false, reason: 'bad_signature' };
  if (Math.floor((opts.now ?? Date.now()) / 1000) >= p.expires) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    key: p.key,
    method,
    expires: p.expires,
    contentType: p.contentType,
    responseContentType: p.responseContentType,
  };
}
