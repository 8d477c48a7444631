/** The URL rules of the URL import fetcher: http(s) without credentials, and the allow-list of hosts. */

import { isIP } from 'node:net';
import { FetchError } from './fetch-errors';

const ALLOW_SETTING = 'VOD_FETCH_ALLOW_HOSTS';

export interface AllowEntry {
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

export function parseAllowHosts(entries: readonly string[]): AllowEntry[] {
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

export function isAllowed(url: URL, allow: readonly AllowEntry[]): boolean {
  const port = defaultPort(url);
  return allow.some((e) => e.host === url.hostname && (e.port === null || e.port === port));
}

/** The URL with any credentials removed, for messages. */
export function displayUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

/**
 * Parses and checks a URL given by the user, or one found at `base`: a redirect's Location, or an entry of
 * the HLS playlist at `base` (`from: 'playlist'`), resolved against it.
 */
export function checkUrl(raw: string, base?: URL, from: 'redirect' | 'playlist' = 'redirect'): URL {
  let url: URL;
  const via =
    base === undefined
      ? ''
      : from === 'redirect'
        ? ` (redirected from ${displayUrl(base)})`
        : ` (listed in the playlist ${displayUrl(base)})`;
  try {
    url = base === undefined ? new URL(raw) : new URL(raw, base);
  } catch {
    const quoted = JSON.stringify(raw.slice(0, 200));
    const what =
      base === undefined ? 'the URL' : from === 'redirect' ? `the redirect target ${quoted}` : quoted;
    throw new FetchError('bad_url', `${what} is not a valid URL${from === 'playlist' ? via : ''}`);
  }
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

export function forbidden(host: string, address: string, reason: string, url: URL): FetchError {
  const subject = host === address ? address : `${host} resolves to ${address}, which`;
  return new FetchError(
    'forbidden_address',
    `${subject} is ${reason}; fetching private addresses is not allowed ` +
      `(add the host to ${ALLOW_SETTING} to permit it)`,
    { url: displayUrl(url) },
  );
}
