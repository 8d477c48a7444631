// The fetch the typed client runs on: retries with exponential backoff and full jitter on 429 and 503
// (honouring Retry-After), and on network errors for requests that are safe to repeat; an Idempotency-Key
// on every POST, the same on each retry of one call, so that a repeated create returns the first result.
//
// Written here rather than taken from a retry library: the policy (which statuses, which methods, the key
// kept across attempts, a Request body cloned per attempt) is the whole of it, in a few lines.
import { parseRetryAfter, VodCloudError } from './errors.js';

export type FetchLike = (input: Request) => Promise<Response>;

export interface RetryOptions {
  /** Retries after the first attempt (default 2); 0 disables. */
  retries?: number;
  /** Base of the exponential backoff in ms (default 500): attempt n waits up to base × 2^n. */
  retryBaseMs?: number;
  /** The longest wait (default 30 000 ms); a Retry-After beyond it is not waited for: the response is returned. */
  maxRetryDelayMs?: number;
}

const RETRY_STATUSES = new Set([429, 503]);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** A random UUID v4: crypto.randomUUID where it exists (secure contexts), else from getRandomValues. */
export function uuid(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function sleep(ms: number, signal: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const isAbort = (err: unknown) =>
  err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');

export function retryingFetch(inner: FetchLike, options: RetryOptions = {}): FetchLike {
  const retries = Math.max(0, options.retries ?? 2);
  const base = options.retryBaseMs ?? 500;
  const max = options.maxRetryDelayMs ?? 30_000;
  return async (original) => {
    let request = original;
    if (request.method === 'POST' && !request.headers.has('idempotency-key')) {
      const headers = new Headers(request.headers);
      headers.set('idempotency-key', uuid());
      request = new Request(request, { headers });
    }
    // A POST is safe to send again after a network error only because it carries its Idempotency-Key.
    const repeatable = IDEMPOTENT_METHODS.has(request.method) || request.headers.has('idempotency-key');
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= retries;
      const backoff = Math.random() * Math.min(max, base * 2 ** attempt);
      let response: Response;
      try {
        response = await inner(last ? request : request.clone());
      } catch (err) {
        if (last || !repeatable || isAbort(err)) throw networkError(request, err);
        await sleep(backoff, request.signal);
        continue;
      }
      if (last || !RETRY_STATUSES.has(response.status)) return response;
      const asked = parseRetryAfter(response.headers.get('retry-after'));
      if (asked !== undefined && asked > max) return response;
      await response.body?.cancel().catch(() => {});
      await sleep(asked ?? backoff, request.signal);
    }
  };
}

function networkError(request: Request, err: unknown): VodCloudError {
  if (err instanceof VodCloudError) return err;
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const why = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
  return new VodCloudError({
    code: isAbort(err) ? 'aborted' : 'network',
    detail: `${request.method} ${request.url}: ${why}`,
    cause: err,
  });
}
