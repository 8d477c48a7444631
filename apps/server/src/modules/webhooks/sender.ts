/**
 * Sending one webhook: Standard Webhooks signing and an SSRF-safe POST.
 *
 * The address rules are those of URL import (lib/address-guard.ts): loopback, private, link-local
 * (cloud metadata), CGNAT, multicast, reserved… addresses are refused unless the URL's host is in the
 * allow-list (VOD_FETCH_ALLOW_HOSTS, the same setting). As in imports/fetcher.ts the check sits in the
 * socket's `lookup` hook, so the address checked is the address connected to (no DNS-rebinding window);
 * IP-literal hosts are checked before the request; no agent (no connection reuse). Redirects are never
 * followed: a 3xx answer is a failed delivery.
 */

import { createHmac, randomBytes } from 'node:crypto';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { promises as dns } from 'node:dns';
import type { RequestOptions } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { classifyAddress } from '../../lib/address-guard';

export const SECRET_PREFIX = 'whsec_';
export const USER_AGENT = 'vodcloud-webhooks/1.0';
/** How much of a response body is read before the connection is dropped. */
export const MAX_RESPONSE_READ = 64 * 1024;
/** How much of it is kept in the delivery log. */
export const MAX_RESPONSE_KEPT = 2048;
const ALLOW_SETTING = 'VOD_FETCH_ALLOW_HOSTS';

/** A new signing secret: whsec_ + base64 of 32 random bytes. */
export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`, the key being the base64-decoded part of the secret. */
export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The Standard Webhooks headers for one attempt. */
export function signedHeaders(secret: string, id: string, body: string, now = Date.now()) {
  const timestamp = Math.floor(now / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(secret, id, timestamp, body),
  };
}

// ---------------------------------------------------------------- URLs and the allow-list

export type DeliveryErrorCode = 'bad_url' | 'forbidden_address' | 'timeout' | 'network';

/** Why a request could not be made or completed. `forbidden_address` and `bad_url` are permanent. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
  ) {
    super(message);
  }
  get permanent(): boolean {
    return this.code === 'bad_url' || this.code === 'forbidden_address';
  }
}

interface AllowEntry {
  host: string;
  port: string | null;
}

/** `host` or `host:port` entries (IPv6 in brackets), matched like the URL import fetcher's allow-list. */
function parseAllowHosts(entries: readonly string[]): AllowEntry[] {
  const out: AllowEntry[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(entry);
    const host = m ? m[1]! : isIP(entry) === 6 ? `[${entry}]` : null;
    if (host === null) continue;
    try {
      out.push({ host: new URL(`http://${host}/`).hostname, port: m?.[2] ? String(Number(m[2])) : null });
    } catch {
      // not a host: ignored (config validation is the place to refuse it)
    }
  }
  return out;
}

function isAllowed(url: URL, allow: readonly AllowEntry[]): boolean {
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  return allow.some((e) => e.host === url.hostname && (e.port === null || e.port === port));
}

/** Parses and checks the form of an endpoint URL (no network). */
export function parseEndpointUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DeliveryError('bad_url', 'the URL is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new DeliveryError(
      'bad_url',
      `only http:// and https:// URLs can receive webhooks, not ${url.protocol.slice(0, 20)}//`,
    );
  if (url.username !== '' || url.password !== '')
    throw new DeliveryError('bad_url', 'URLs with credentials (user:password@) are not accepted');
  if (url.hostname === '') throw new DeliveryError('bad_url', 'the URL has no host');
  return url;
}

const bareHost = (url: URL) => (url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname);

function forbidden(host: string, address: string, reason: string): DeliveryError {
  const subject = host === address ? address : `${host} resolves to ${address}, which`;
  return new DeliveryError(
    'forbidden_address',
    `${subject} is ${reason}; webhooks to private addresses are not allowed (add the host to ${ALLOW_SETTING} to permit it)`,
  );
}

export type LookupFn = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;
const defaultLookup: LookupFn = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/**
 * Checks an endpoint URL at creation: its form, then every address its host resolves to (unless
 * allow-listed). Throws DeliveryError (bad_url, forbidden_address, or network when it does not resolve).
 */
export async function checkEndpointUrl(
  raw: string,
  allowHosts: readonly string[],
  lookup: LookupFn = defaultLookup,
): Promise<URL> {
  const url = parseEndpointUrl(raw);
  if (isAllowed(url, parseAllowHosts(allowHosts))) return url;
  const host = bareHost(url);
  if (isIP(host) !== 0) {
    const v = classifyAddress(host);
    if (v.forbidden) throw forbidden(host, host, v.reason);
    return url;
  }
  let found: ReadonlyArray<{ address: string }>;
  try {
    found = await lookup(host);
  } catch (err) {
    const code = (err as { code?: string })?.code;
    throw new DeliveryError('network', `could not resolve ${host}${code ? ` (${code})` : ''}`);
  }
  if (found.length === 0) throw new DeliveryError('network', `${host} has no address`);
  for (const a of found) {
    const v = classifyAddress(a.address);
    if (v.forbidden) throw forbidden(host, a.address, v.reason);
  }
  return url;
}

// ---------------------------------------------------------------- the POST

export interface PostOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  allowHosts: readonly string[];
  /** Bound on the whole exchange: DNS, connect, request, response headers and body. */
  timeoutMs: number;
  lookup?: LookupFn;
  signal?: AbortSignal;
}

export interface PostResult {
  status: number;
  /** The start of the response body (at most MAX_RESPONSE_KEPT characters). */
  body: string;
  durationMs: number;
}

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * POSTs `body` once. Resolves with any HTTP answer (the caller judges the status; redirects are not
 * followed); rejects with DeliveryError when no answer came (bad or forbidden URL, timeout, network).
 */
export async function postWebhook(opts: PostOptions): Promise<PostResult> {
  const started = Date.now();
  const url = parseEndpointUrl(opts.url);
  const host = bareHost(url);
  const trusted = isAllowed(url, parseAllowHosts(opts.allowHosts));
  if (!trusted && isIP(host) !== 0) {
    const v = classifyAddress(host);
    if (v.forbidden) throw forbidden(host, host, v.reason);
  }
  const lookup = opts.lookup ?? defaultLookup;
  opts.signal?.throwIfAborted();

  const vettedLookup = (_hostname: string, options: LookupOptions, callback: LookupCallback) => {
    lookup(host).then(
      (found) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const addresses = found
          .map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))
          .filter((a) => wanted === 0 || a.family === wanted);
        if (addresses.length === 0)
          return callback(new DeliveryError('network', `${host} has no address`), '');
        if (!trusted)
          for (const a of addresses) {
            const v = classifyAddress(a.address);
            if (v.forbidden) return callback(forbidden(host, a.address, v.reason), '');
          }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: unknown) => {
        const code = (err as { code?: string })?.code;
        callback(new DeliveryError('network', `could not resolve ${host}${code ? ` (${code})` : ''}`), '');
      },
    );
  };

  return new Promise<PostResult>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, result?: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(result!);
    };
    const options: RequestOptions = {
      method: 'POST',
      hostname: host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      agent: false,
      headers: {
        ...opts.headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(opts.body)),
        'user-agent': USER_AGENT,
        connection: 'close',
      },
      lookup: vettedLookup as NonNullable<RequestOptions['lookup']>,
    };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options);
    const timer = setTimeout(
      () =>
        finish(
          new DeliveryError('timeout', `no complete answer from ${url.host} within ${opts.timeoutMs} ms`),
        ),
      opts.timeoutMs,
    );
    const onAbort = () =>
      finish(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(toDeliveryError(err, url)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let read = 0;
      const done = () => {
        const text = Buffer.concat(chunks).toString('utf8').slice(0, MAX_RESPONSE_KEPT);
        finish(null, { status: res.statusCode ?? 0, body: text, durationMs: Date.now() - started });
        res.destroy();
      };
      res.on('data', (chunk: Buffer) => {
        if (read < MAX_RESPONSE_KEPT) chunks.push(chunk.subarray(0, MAX_RESPONSE_KEPT - read));
        read += chunk.length;
        if (read >= MAX_RESPONSE_READ) done(); // enough: the rest is not read
      });
      res.on('end', done);
      res.on('error', (err) => finish(toDeliveryError(err, url)));
      res.on('close', () => {
        // A body cut short still carries the status, which is what counts.
        if (!settled) done();
      });
    });
    req.end(opts.body);
  });
}

function toDeliveryError(err: unknown, url: URL): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return new DeliveryError('network', `the connection to ${url.host} was refused`);
    case 'ECONNRESET':
      return new DeliveryError('network', `the connection to ${url.host} was reset`);
    case 'ETIMEDOUT':
      return new DeliveryError('network', `the connection to ${url.host} timed out`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new DeliveryError('network', `${url.host} is unreachable`);
    default:
      return new DeliveryError(
        'network',
        `the request to ${url.host} failed: ${e?.message ?? String(err)}${code ? ` (${code})` : ''}`,
      );
  }
}
