/**
 * One download's requests: the transfer state every part of it is torn down through, the GET itself with
 * the vetted `lookup` hook (the address checked is the address connected to), and the checks of a 200
 * answer's headers.
 */

import type { LookupAddress, LookupOptions } from 'node:dns';
import { promises as dns } from 'node:dns';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { classifyAddress } from '../../lib/address-guard';
import { FetchError, formatBytes, formatMs, toFetchError } from './fetch-errors';
import { type AllowEntry, checkUrl, displayUrl, forbidden, isAllowed } from './fetch-urls';

/** Resolves a host name to all its addresses (like `dns.promises.lookup(host, {all: true})`). */
export type LookupFn = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

export const defaultLookup: LookupFn = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * The state of one download. Everything in flight is torn down through `fail`: the first error wins and
 * is what the download throws. Holds the overall bound, the idle bound and the caller's abort signal.
 */
export class Transfer {
  failed = false;
  failure: unknown;
  /** The store's put began (a failure must then delete what it wrote). */
  putStarted = false;
  readonly teardown = new Set<(err: Error) => void>();
  private readonly overall: NodeJS.Timeout;
  private idle: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.fail(this.signal?.reason);

  constructor(
    timeoutMs: number,
    private readonly idleTimeoutMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.overall = setTimeout(
      () => this.fail(new FetchError('timeout', `the download did not finish within ${formatMs(timeoutMs)}`)),
      timeoutMs,
    );
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = err;
    const asError = err instanceof Error ? err : new Error('aborted', { cause: err });
    for (const fn of this.teardown) fn(asError);
  }

  /** Bytes (or headers) arrived: the idle bound starts again. */
  touch(): void {
    if (this.idle !== undefined) this.idle.refresh();
    else
      this.idle = setTimeout(
        () =>
          this.fail(new FetchError('timeout', `the server sent nothing for ${formatMs(this.idleTimeoutMs)}`)),
        this.idleTimeoutMs,
      );
  }

  stopIdle(): void {
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.idle = undefined;
  }

  close(): void {
    clearTimeout(this.overall);
    this.stopIdle();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.teardown.clear();
  }
}

export interface SendOptions {
  allow: readonly AllowEntry[];
  lookup: LookupFn;
  userAgent: string;
}

/** Sends a GET to `url` and resolves with the response once its headers arrived. */
export function send(url: URL, o: SendOptions, t: Transfer): Promise<IncomingMessage> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const trusted = isAllowed(url, o.allow);
  if (!trusted && isIP(host) !== 0) {
    const verdict = classifyAddress(host);
    if (verdict.forbidden) throw forbidden(host, host, verdict.reason, url);
  }
  if (t.failed) throw t.failure;

  return new Promise<IncomingMessage>((resolve, reject) => {
    const options: RequestOptions = {
      method: 'GET',
      hostname: host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      agent: false,
      headers: {
        'user-agent': o.userAgent,
        accept: '*/*',
        'accept-encoding': 'identity',
        connection: 'close',
      },
      lookup: vettedLookup(o.lookup, url, host, trusted),
    };
    const req: ClientRequest = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options);
    const stop = (err: Error) => {
      req.destroy(err);
      reject(err);
    };
    t.teardown.add(stop);
    t.touch();
    req.on('error', (err) => {
      t.teardown.delete(stop);
      reject(t.failed ? t.failure : toFetchError(err, url));
    });
    req.on('response', (res) => {
      t.teardown.delete(stop);
      t.touch();
      // Errors from here on are reported by `finished` on the body, or are ours (destroying it).
      res.on('error', () => undefined);
      if (t.failed) {
        res.destroy();
        reject(t.failure);
        return;
      }
      // Dropped once the response is done, so a long series of requests (an HLS import) does not pile up.
      const stopResponse = (err: Error) => res.destroy(err);
      t.teardown.add(stopResponse);
      res.once('close', () => t.teardown.delete(stopResponse));
      resolve(res);
    });
    req.end();
  });
}

/**
 * Sends a GET to `url`, following up to `maxRedirects` redirects (each target re-checked like the first
 * URL), and resolves with the 200 answer, the URL it came from and how many redirects led there.
 */
export async function sendFollowing(
  url: URL,
  o: SendOptions,
  t: Transfer,
  maxRedirects: number,
): Promise<{ res: IncomingMessage; url: URL; redirects: number }> {
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const res = await send(current, o, t);
    const next = nextHop(res, current, redirects, maxRedirects);
    if (next === undefined) return { res, url: current, redirects };
    current = next;
  }
}

/** The URL a redirect answer points to; undefined for a 200. Throws for any other answer. */
function nextHop(
  res: IncomingMessage,
  current: URL,
  redirects: number,
  maxRedirects: number,
): URL | undefined {
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
    return checkUrl(location, current);
  }
  if (status !== 200) {
    res.destroy();
    throw new FetchError(
      'http_status',
      `the server answered ${status}${res.statusMessage ? ` ${res.statusMessage.slice(0, 100)}` : ''} (expected 200)`,
      { url: current.href, status },
    );
  }
  return undefined;
}

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * The `lookup` hook given to the connection: resolves every address, refuses if any of them is
 * forbidden (unless the host is allow-listed), and hands only vetted addresses to the socket.
 */
function vettedLookup(
  lookup: LookupFn,
  url: URL,
  host: string,
  trusted: boolean,
): NonNullable<RequestOptions['lookup']> {
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

/** Validates the headers of a 200 response; returns the content type to store. */
export function checkHeaders(res: IncomingMessage, url: URL, maxBytes: number): string {
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

/** A Content-Length header's value, when it is a plain safe integer. */
export function parseContentLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,16}$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}
