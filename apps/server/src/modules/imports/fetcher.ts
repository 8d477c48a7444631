/**
 * URL import fetcher: downloads a user-supplied http(s) URL into object storage, streamed and bounded,
 * refusing to reach private or special-purpose addresses (SSRF).
 *
 * The address check sits in the `lookup` hook of the connection itself, so the address that is checked
 * is the address that is connected to (no DNS-rebinding window). IP-literal hosts, which node connects to
 * without calling `lookup`, are checked before the request is made. Every request uses a fresh connection
 * (no agent pooling), so a socket vetted for one request is never reused for another.
 */

import type { IncomingMessage } from 'node:http';
import { finished, Transform } from 'node:stream';
import type { ObjectStore } from '@vodcloud/storage';
import { validateKey } from '@vodcloud/storage';
import { FetchError, formatBytes, toFetchError } from './fetch-errors';
import {
  checkHeaders,
  defaultLookup,
  type LookupFn,
  parseContentLength,
  type SendOptions,
  sendFollowing,
  Transfer,
} from './fetch-request';
import { checkUrl, parseAllowHosts } from './fetch-urls';

export { FETCH_ERROR_CODES, FetchError, type FetchErrorCode, isFetchError } from './fetch-errors';
export type { LookupFn } from './fetch-request';

export interface FetchToStorageOptions {
  /** http: or https: URL, without credentials. */
  url: string;
  store: ObjectStore;
  /** Object key to write (validated before anything is fetched). */
  key: string;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Bound on the whole operation (DNS, connections, redirects, download, storage), in ms. */
  timeoutMs: number;
  /** Fails when no bytes arrive for this long (waiting for headers or body). Default min(timeoutMs, 30 s). */
  idleTimeoutMs?: number;
  /** Default 5. */
  maxRedirects?: number;
  /**
   * `host` or `host:port` entries (IPv6 in brackets: `[::1]:8080`) whose addresses are not checked, for
   * tests and on-premises sources. Matched exactly against the URL's host (case-insensitive); an entry
   * without a port matches any port.
   */
  allowHosts?: readonly string[];
  userAgent?: string;
  /** Aborting rejects with `signal.reason` (not a FetchError) after cleaning up. */
  signal?: AbortSignal;
  /** DNS resolution, for tests. Default `dns.promises.lookup(host, {all: true, verbatim: true})`. */
  lookup?: LookupFn;
}

export interface FetchToStorageResult {
  /** Bytes stored. */
  size: number;
  /** The response's Content-Type (or application/octet-stream when absent). */
  contentType: string;
  /** URL the body came from, after redirects. */
  finalUrl: string;
  /** Number of redirects followed. */
  redirects: number;
  /** Etag reported by the store. */
  etag: string;
}

export const DEFAULT_USER_AGENT = 'vodcloud-url-import/1.0';
const MAX_IDLE_DEFAULT_MS = 30_000;

export async function fetchToStorage(opts: FetchToStorageOptions): Promise<FetchToStorageResult> {
  const { store, key, maxBytes, timeoutMs } = opts;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new RangeError('maxBytes must be an integer >= 0');
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be > 0');
  const idleTimeoutMs = opts.idleTimeoutMs ?? Math.min(timeoutMs, MAX_IDLE_DEFAULT_MS);
  if (!(idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be > 0');
  const maxRedirects = opts.maxRedirects ?? 5;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) throw new RangeError('maxRedirects must be >= 0');
  const sendOptions: SendOptions = {
    allow: parseAllowHosts(opts.allowHosts ?? []),
    lookup: opts.lookup ?? defaultLookup,
    userAgent: opts.userAgent ?? DEFAULT_USER_AGENT,
  };
  const signal = opts.signal;
  validateKey(key);
  signal?.throwIfAborted();
  let current = checkUrl(opts.url);

  const t = new Transfer(timeoutMs, idleTimeoutMs, signal);
  try {
    const answer = await sendFollowing(current, sendOptions, t, maxRedirects);
    current = answer.url;
    return await storeBody(answer.res, current, answer.redirects, opts, t);
  } catch (err) {
    // Stops whatever is still in flight (a no-op when `fail` already ran). The error that caused a teardown
    // (timeout, too_large, network, abort reason…) wins over what it produced downstream, e.g. the store's
    // view of a destroyed stream; an error of the store's own passes through as is.
    t.fail(err);
    if (t.putStarted) await store.delete(key).catch(() => undefined);
    throw t.failure;
  } finally {
    t.close();
  }
}

/** Streams the body of a 200 answer into the store, counting (and bounding) the bytes that really arrive. */
async function storeBody(
  res: IncomingMessage,
  current: URL,
  redirects: number,
  opts: FetchToStorageOptions,
  t: Transfer,
): Promise<FetchToStorageResult> {
  const { store, key, maxBytes } = opts;
  const contentType = checkHeaders(res, current, maxBytes);
  const declared = parseContentLength(res.headers['content-length']);

  // Count every byte that really arrives; the declared length is only used to refuse early.
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      if (received > maxBytes) {
        const err = new FetchError(
          'too_large',
          `the file is larger than the ${formatBytes(maxBytes)} limit`,
          {
            url: current.href,
          },
        );
        t.fail(err);
        cb(err);
        return;
      }
      t.touch();
      cb(null, chunk);
    },
    flush(cb) {
      t.stopIdle(); // the whole body arrived; only the overall bound applies to storing it
      cb();
    },
  });
  // Response errors are reported through `finished` below; this listener keeps a late one (e.g. the
  // destroy right after `finished` fired) from becoming an uncaught exception that ends the process.
  res.on('error', () => undefined);
  counter.on('error', () => undefined); // the store sees the error through its own pipe; `fail` records it
  const stopBody = (err: Error) => {
    res.destroy();
    counter.destroy(err);
  };
  t.teardown.add(stopBody);
  // Not `pipeline`: a failure of the store (which destroys `counter`) must stay the store's error, not
  // turn into a network one. Response errors and early closes are reported here; the rest by `fail`.
  finished(res, (err) => {
    if (err) t.fail(toFetchError(err, current));
  });
  res.pipe(counter);
  t.putStarted = true;
  const put = await store.put(key, counter, {
    contentType,
    ...(declared === undefined ? {} : { contentLength: declared }),
  });
  t.teardown.delete(stopBody);
  return { size: put.size, contentType, finalUrl: current.href, redirects, etag: put.etag };
}
