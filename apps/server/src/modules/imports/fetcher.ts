/**
 * URL import fetcher: downloads a user-supplied http(s) URL into object storage, streamed and bounded,
 * refusing to reach private or special-purpose addresses (SSRF).
 *
 * The address check sits in the `lookup` hook of the connection itself, so the address that is checked
 * is the address that is connected to (no DNS-rebinding window). IP-literal hosts, which node connects to
 * without calling `lookup`, are checked before the request is made. Every request uses a fresh connection
 * (no agent pooling), so a socket vetted for one request is never reused for another.
 */

import type { LookupAddress, LookupOptions } from 'node:dns';
import { promises as dns } from 'node:dns';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { finished, Transform } from 'node:stream';
import type { ObjectStore } from '@vodcloud/storage';
import { validateKey } from '@vodcloud/storage';
import { classifyAddress } from '../../lib/address-guard';

export type FetchErrorCode =
  | 'forbidden_address'
  | 'bad_url'
  | 'too_many_redirects'
  | 'http_status'
  | 'too_large'
  | 'timeout'
  | 'not_media'
  | 'network';

export const FETCH_ERROR_CODES: readonly FetchErrorCode[] = [
  'forbidden_address',
  'bad_url',
  'too_many_redirects',
  'http_status',
  'too_large',
  'timeout',
  'not_media',
  'network',
];

/** A failure to fetch the URL. `message` is meant for the user (it says why, never includes credentials). */
export class FetchError extends Error {
  override readonly name = 'FetchError';
  readonly code: FetchErrorCode;
  /** The URL being fetched when it failed (after redirects), when there was a valid one. */
  readonly url: string | undefined;
  /** HTTP status, for `http_status`. */
  readonly status: number | undefined;

  constructor(
    code: FetchErrorCode,
    message: string,
    options?: { url?: string; status?: number; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.url = options?.url;
    this.status = options?.status;
  }
}

export function isFetchError(err: unknown, code?: FetchErrorCode): err is FetchError {
  return err instanceof FetchError && (code === undefined || err.code === code);
}

/** Resolves a host name to all its addresses (like `dns.promises.lookup(host, {all: true})`). */
export type LookupFn = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

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
const ALLOW_SETTING = 'VOD_FETCH_ALLOW_HOSTS';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const MAX_IDLE_DEFAULT_MS = 30_000;

const defaultLookup: LookupFn = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

// ---------------------------------------------------------------- URLs and allow-list

interface AllowEntry {
  host: string;
  port: string | null;
}

function defaultPort(url: URL): string {
  return url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
}

/** Normalises a host the way the URL parser does (lower case, IDNA, IPv4 forms). */
function normalizeHost(host: string): string | null {
  try {
    const parsed = new URL(`http://${host}/`);
    return parsed.hostname;
  } catch {
    return null;
  }
}

function parseAllowHosts(entries: readonly string[]): AllowEntry[] {
  const out: AllowEntry[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    let host: string;
    let port: string | null = null;
    const bracketed = /^(\[[^\]]+\])(?::(\d{1,5}))?$/.exec(entry);
    const plain = /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(entry);
    if (bracketed) {
      host = bracketed[1]!;
      port = bracketed[2] ?? null;
    } else if (plain) {
      host = plain[1]!;
      port = plain[2] ?? null;
    } else if (isIP(entry) === 6) {
      host = `[${entry}]`;
    } else {
      throw new TypeError(`allowHosts entry ${JSON.stringify(raw)} is not host or host:port`);
    }
    const normalized = normalizeHost(host);
    if (normalized === null)
      throw new TypeError(`allowHosts entry ${JSON.stringify(raw)} is not a valid host`);
    out.push({ host: normalized, port: port === null ? null : String(Number(port)) });
  }
  return out;
}

function isAllowed(url: URL, allow: readonly AllowEntry[]): boolean {
  const port = defaultPort(url);
  return allow.some((e) => e.host === url.hostname && (e.port === null || e.port === port));
}

/** The URL with any credentials removed, for messages. */
function displayUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

function checkUrl(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = base === undefined ? new URL(raw) : new URL(raw, base);
  } catch {
    const what = base === undefined ? 'the URL' : `the redirect target ${JSON.stringify(raw.slice(0, 200))}`;
    throw new FetchError('bad_url', `${what} is not a valid URL`);
  }
  const via = base === undefined ? '' : ` (redirected from ${displayUrl(base)})`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FetchError(
      'bad_url',
      `only http:// and https:// URLs can be imported, not ${url.protocol.slice(0, 20)}//${via}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new FetchError('bad_url', `URLs with credentials (user:password@) are not accepted${via}`, {
      url: displayUrl(url),
    });
  }
  if (url.hostname === '') throw new FetchError('bad_url', `the URL has no host${via}`);
  return url;
}

function forbidden(host: string, address: string, reason: string, url: URL): FetchError {
  const subject = host === address ? address : `${host} resolves to ${address}, which`;
  return new FetchError(
    'forbidden_address',
    `${subject} is ${reason}; fetching private addresses is not allowed ` +
      `(add the host to ${ALLOW_SETTING} to permit it)`,
    { url: displayUrl(url) },
  );
}

// ---------------------------------------------------------------- the fetch

export async function fetchToStorage(opts: FetchToStorageOptions): Promise<FetchToStorageResult> {
  const { store, key, maxBytes, timeoutMs } = opts;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new RangeError('maxBytes must be an integer >= 0');
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be > 0');
  const idleTimeoutMs = opts.idleTimeoutMs ?? Math.min(timeoutMs, MAX_IDLE_DEFAULT_MS);
  if (!(idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be > 0');
  const maxRedirects = opts.maxRedirects ?? 5;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) throw new RangeError('maxRedirects must be >= 0');
  const allow = parseAllowHosts(opts.allowHosts ?? []);
  const lookup = opts.lookup ?? defaultLookup;
  const userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
  const signal = opts.signal;
  validateKey(key);
  signal?.throwIfAborted();
  let current = checkUrl(opts.url);

  // Everything in flight is torn down through `fail`: the first error wins and is what we throw.
  let failed = false;
  let failure: unknown;
  const teardown = new Set<(err: Error) => void>();
  const fail = (err: unknown) => {
    if (failed) return;
    failed = true;
    failure = err;
    const asError = err instanceof Error ? err : new Error('aborted', { cause: err });
    for (const fn of teardown) fn(asError);
  };

  const overall = setTimeout(
    () => fail(new FetchError('timeout', `the download did not finish within ${formatMs(timeoutMs)}`)),
    timeoutMs,
  );
  let idle: NodeJS.Timeout | undefined;
  const touch = () => {
    if (idle !== undefined) idle.refresh();
    else
      idle = setTimeout(
        () => fail(new FetchError('timeout', `the server sent nothing for ${formatMs(idleTimeoutMs)}`)),
        idleTimeoutMs,
      );
  };
  const stopIdle = () => {
    if (idle !== undefined) clearTimeout(idle);
    idle = undefined;
  };
  const onAbort = () => fail(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  let putStarted = false;
  try {
    for (let redirects = 0; ; redirects++) {
      const res = await send(current);
      const status = res.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        res.destroy();
        const location = res.headers.location;
        if (location === undefined || location === '') {
          throw new FetchError('http_status', `the server answered ${status} without a Location header`, {
            url: current.href,
            status,
          });
        }
        if (redirects >= maxRedirects) {
          throw new FetchError(
            'too_many_redirects',
            `the URL redirected more than ${maxRedirects} time${maxRedirects === 1 ? '' : 's'}`,
            { url: current.href },
          );
        }
        current = checkUrl(location, current);
        continue;
      }
      if (status !== 200) {
        res.destroy();
        throw new FetchError(
          'http_status',
          `the server answered ${status}${res.statusMessage ? ` ${res.statusMessage.slice(0, 100)}` : ''} (expected 200)`,
          { url: current.href, status },
        );
      }
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
            fail(err);
            cb(err);
            return;
          }
          touch();
          cb(null, chunk);
        },
        flush(cb) {
          stopIdle(); // the whole body arrived; only the overall bound applies to storing it
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
      teardown.add(stopBody);
      // Not `pipeline`: a failure of the store (which destroys `counter`) must stay the store's error, not
      // turn into a network one. Response errors and early closes are reported here; the rest by `fail`.
      finished(res, (err) => {
        if (err) fail(toFetchError(err, current));
      });
      res.pipe(counter);
      putStarted = true;
      const put = await store.put(key, counter, {
        contentType,
        ...(declared === undefined ? {} : { contentLength: declared }),
      });
      teardown.delete(stopBody);
      return { size: put.size, contentType, finalUrl: current.href, redirects, etag: put.etag };
    }
  } catch (err) {
    // Stops whatever is still in flight (a no-op when `fail` already ran). The error that caused a teardown
    // (timeout, too_large, network, abort reason…) wins over what it produced downstream, e.g. the store's
    // view of a destroyed stream; an error of the store's own passes through as is.
    fail(err);
    if (putStarted) await store.delete(key).catch(() => undefined);
    throw failure;
  } finally {
    clearTimeout(overall);
    stopIdle();
    signal?.removeEventListener('abort', onAbort);
    teardown.clear();
  }

  /** Sends a GET to `url` and resolves with the response once its headers arrived. */
  function send(url: URL): Promise<IncomingMessage> {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const trusted = isAllowed(url, allow);
    if (!trusted && isIP(host) !== 0) {
      const verdict = classifyAddress(host);
      if (verdict.forbidden) throw forbidden(host, host, verdict.reason, url);
    }
    if (failed) throw failure;

    return new Promise<IncomingMessage>((resolve, reject) => {
      const options: RequestOptions = {
        method: 'GET',
        hostname: host,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        agent: false,
        headers: {
          'user-agent': userAgent,
          accept: '*/*',
          'accept-encoding': 'identity',
          connection: 'close',
        },
        lookup: vettedLookup(url, host, trusted),
      };
      const req: ClientRequest = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options);
      const stop = (err: Error) => {
        req.destroy(err);
        reject(err);
      };
      teardown.add(stop);
      touch();
      req.on('error', (err) => {
        teardown.delete(stop);
        reject(failed ? failure : toFetchError(err, url));
      });
      req.on('response', (res) => {
        teardown.delete(stop);
        touch();
        // Errors from here on are reported by `finished` on the body, or are ours (destroying it).
        res.on('error', () => undefined);
        if (failed) {
          res.destroy();
          reject(failure);
          return;
        }
        teardown.add((err) => res.destroy(err));
        resolve(res);
      });
      req.end();
    });
  }

  /**
   * The `lookup` hook given to the connection: resolves every address, refuses if any of them is
   * forbidden (unless the host is allow-listed), and hands only vetted addresses to the socket.
   */
  function vettedLookup(url: URL, host: string, trusted: boolean): NonNullable<RequestOptions['lookup']> {
    return (hostname: string, options: LookupOptions, callback: LookupCallback) => {
      lookup(hostname).then(
        (found) => {
          const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
          const addresses = found
            .map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))
            .filter((a) => wanted === 0 || a.family === wanted);
          if (addresses.length === 0) {
            callback(new FetchError('network', `${host} has no address`, { url: displayUrl(url) }), '');
            return;
          }
          if (!trusted) {
            for (const a of addresses) {
              const verdict = classifyAddress(a.address);
              if (verdict.forbidden) {
                callback(forbidden(host, a.address, verdict.reason, url), '');
                return;
              }
            }
          }
          if (options.all) callback(null, addresses);
          else callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        (err: unknown) => {
          const code = (err as { code?: string })?.code;
          callback(
            new FetchError('network', `could not resolve ${host}${code ? ` (${code})` : ''}`, {
              url: displayUrl(url),
              cause: err,
            }),
            '',
          );
        },
      );
    };
  }
}

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/** Validates the headers of a 200 response; returns the content type to store. */
function checkHeaders(res: IncomingMessage, url: URL, maxBytes: number): string {
  const rawType = res.headers['content-type'];
  const contentType = rawType?.trim().slice(0, 255) || DEFAULT_CONTENT_TYPE;
  const mime = contentType.split(';')[0]!.trim().toLowerCase();
  if (
    mime.startsWith('text/') ||
    mime === 'application/json' ||
    mime.endsWith('+json') ||
    mime === 'application/xhtml+xml'
  ) {
    res.destroy();
    throw new FetchError(
      'not_media',
      `the URL returned a web page, not a media file (Content-Type ${mime})`,
      {
        url: url.href,
      },
    );
  }
  const encoding = res.headers['content-encoding']?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    res.destroy();
    throw new FetchError(
      'not_media',
      `the server sent a ${encoding}-encoded body although an unencoded one was requested`,
      { url: url.href },
    );
  }
  const declared = parseContentLength(res.headers['content-length']);
  if (declared !== undefined && declared > maxBytes) {
    res.destroy();
    throw new FetchError(
      'too_large',
      `the file is ${formatBytes(declared)}, larger than the ${formatBytes(maxBytes)} limit`,
      { url: url.href },
    );
  }
  return contentType;
}

function parseContentLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,16}$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

function toFetchError(err: unknown, url: URL): FetchError {
  if (err instanceof FetchError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  let what: string;
  switch (code) {
    case 'ECONNREFUSED':
      what = `the connection to ${url.host} was refused`;
      break;
    case 'ECONNRESET':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      what = `the connection to ${url.host} was closed before the download finished`;
      break;
    case 'ETIMEDOUT':
      what = `the connection to ${url.host} timed out`;
      break;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      what = `${url.host} is unreachable`;
      break;
    default:
      what = `the download from ${url.host} failed: ${e?.message ?? String(err)}${code ? ` (${code})` : ''}`;
  }
  return new FetchError('network', what, { url: url.href, cause: err });
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`;
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
