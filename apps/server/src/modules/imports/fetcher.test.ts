/**
 * Real sockets, all on 127.0.0.1: an http server (and a raw TCP server for malformed responses) that
 * counts connections, and a file object store in a temp directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '@vodcloud/storage';
import { createObjectStore, StorageError } from '@vodcloud/storage';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FetchErrorCode, FetchToStorageOptions, LookupFn } from './fetcher';
import { FetchError, fetchToStorage } from './fetcher';

const BIG = randomBytes(8 * 1024 * 1024 + 123); // 8 MiB and a bit, not a multiple of any chunk size
const BIG_SHA = sha256(BIG);
const SMALL = randomBytes(64 * 1024);

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

// ---------------------------------------------------------------- the local http server

let server: Server;
let port: number;
let origin: string;
let connections = 0;
let requests: IncomingMessage[] = [];
const openSockets = new Set<Socket>();

function sendInChunks(res: ServerResponse, body: Buffer, chunk = 64 * 1024): void {
  let offset = 0;
  const pump = () => {
    while (offset < body.length) {
      const part = body.subarray(offset, offset + chunk);
      offset += part.length;
      if (!res.write(part)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  requests.push(req);
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  const media = { 'content-type': 'video/mp4' };

  if (path === '/big') {
    res.writeHead(200, { ...media, 'content-length': BIG.length });
    sendInChunks(res, BIG);
  } else if (path === '/small' || path === '/x' || path === '/') {
    res.writeHead(200, { ...media, 'content-length': SMALL.length });
    res.end(SMALL);
  } else if (path === '/no-type') {
    res.writeHead(200, { 'content-length': SMALL.length });
    res.end(SMALL);
  } else if (path === '/chunked') {
    // No Content-Length: Node uses chunked transfer encoding.
    res.writeHead(200, media);
    sendInChunks(res, BIG);
  } else if (path.startsWith('/redirect/')) {
    const n = Number(path.slice('/redirect/'.length));
    // Alternate relative and absolute Locations.
    const next = n <= 1 ? '/small' : n % 2 === 0 ? `/redirect/${n - 1}` : `${origin}/redirect/${n - 1}`;
    res.writeHead(n % 3 === 0 ? 307 : 302, { location: next });
    res.end();
  } else if (path === '/to') {
    res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('loc')! });
    res.end();
  } else if (path === '/html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Not a video</title>');
  } else if (path === '/json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"error":"nope"}');
  } else if (path === '/gzip') {
    res.writeHead(200, { ...media, 'content-encoding': 'gzip' });
    res.end(SMALL);
  } else if (path === '/partial') {
    res.writeHead(206, { ...media, 'content-range': `bytes 0-99/${SMALL.length}`, 'content-length': 100 });
    res.end(SMALL.subarray(0, 100));
  } else if (path === '/declared-huge') {
    res.writeHead(200, { ...media, 'content-length': 10 * 1024 * 1024 * 1024 });
    res.write(SMALL); // and then stalls
  } else if (path === '/stall') {
    res.writeHead(200, { ...media, 'content-length': BIG.length });
    res.write(SMALL.subarray(0, 1000)); // headers and a little, then nothing
  } else if (path === '/trickle') {
    // Never idle, never done: a byte every 20 ms.
    res.writeHead(200, media);
    const t = setInterval(() => res.write(Buffer.from([1])), 20);
    res.on('close', () => clearInterval(t));
  } else if (path === '/no-headers') {
    // Accepts the request and never answers.
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }
}

// ---------------------------------------------------------------- a raw TCP server for malformed responses

let raw: ReturnType<typeof createTcpServer>;
let rawPort: number;

function handleRaw(socket: Socket): void {
  openSockets.add(socket);
  socket.on('close', () => openSockets.delete(socket));
  socket.on('error', () => undefined);
  let head = '';
  socket.on('data', (d) => {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    const path = head.split(' ')[1];
    if (path === '/close-delimited') {
      // HTTP/1.0 style: no Content-Length, body ends when the connection closes.
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nConnection: close\r\n\r\n');
      socket.end(BIG);
    } else if (path === '/lying-short') {
      // Declares 1000 bytes and sends 8 MiB: only the declared bytes are a response body.
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 1000\r\n\r\n');
      socket.end(BIG);
    } else if (path === '/truncated') {
      // Declares 50000 bytes, sends 400, closes.
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 50000\r\n\r\n');
      socket.end(SMALL.subarray(0, 400));
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    }
  });
}

beforeAll(async () => {
  server = createServer(handle);
  server.on('connection', (socket: Socket) => {
    connections++;
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  raw = createTcpServer(handleRaw);
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  rawPort = (raw.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const s of openSockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => raw.close(() => resolve()));
});

// ---------------------------------------------------------------- store and helpers

let dir: string;
let store: ObjectStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vodcloud-fetch-'));
  store = await createObjectStore(`file:${dir}`);
  requests = [];
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const KEY = 'imports/vid_1/source';

function opts(url: string, extra: Partial<FetchToStorageOptions> = {}): FetchToStorageOptions {
  return {
    url,
    store,
    key: KEY,
    maxBytes: 64 * 1024 * 1024,
    timeoutMs: 10_000,
    allowHosts: [`127.0.0.1:${port}`, `127.0.0.1:${rawPort}`],
    ...extra,
  };
}

async function expectFetchError(
  promise: Promise<unknown>,
  code: FetchErrorCode,
  message?: RegExp,
): Promise<FetchError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected a FetchError ${code}, but the fetch succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FetchError);
  const fe = err as FetchError;
  expect({ code: fe.code, message: fe.message }).toMatchObject({ code });
  if (message) expect(fe.message).toMatch(message);
  return fe;
}

async function storedSha(key = KEY): Promise<string> {
  const { body } = await store.get(key);
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Nothing was published and no temp file is left in the file store. */
async function expectNothingStored(): Promise<void> {
  expect(await store.head(KEY)).toBeNull();
  expect((await store.list('')).items).toEqual([]);
  const tmp = await readdir(join(dir, '.tmp')).catch(() => []);
  expect(tmp).toEqual([]);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

// ---------------------------------------------------------------- tests

describe('fetchToStorage: downloads', () => {
  it('streams a multi-MB body into the store, byte for byte', async () => {
    const result = await fetchToStorage(opts(`${origin}/big`));
    expect(result).toMatchObject({
      size: BIG.length,
      contentType: 'video/mp4',
      finalUrl: `${origin}/big`,
      redirects: 0,
    });
    expect(result.etag).toBeTruthy();
    expect(await storedSha()).toBe(BIG_SHA);
    expect((await store.head(KEY))?.contentType).toBe('video/mp4');
  });

  it('accepts a chunked body (no Content-Length) under the limit', async () => {
    const result = await fetchToStorage(opts(`${origin}/chunked`));
    expect(result.size).toBe(BIG.length);
    expect(await storedSha()).toBe(BIG_SHA);
  });

  it('sends Accept-Encoding: identity and a User-Agent, on a fresh connection', async () => {
    await fetchToStorage(opts(`${origin}/small`, { userAgent: 'test-agent/1' }));
    expect(requests).toHaveLength(1);
    expect(requests[0]!.headers['accept-encoding']).toBe('identity');
    expect(requests[0]!.headers['user-agent']).toBe('test-agent/1');
  });

  it('stores application/octet-stream when the server sends no Content-Type', async () => {
    const result = await fetchToStorage(opts(`${origin}/no-type`));
    expect(result.contentType).toBe('application/octet-stream');
    expect(await storedSha()).toBe(sha256(SMALL));
  });

  it('follows exactly 5 redirects (relative and absolute Locations, 302 and 307)', async () => {
    const before = connections;
    const result = await fetchToStorage(opts(`${origin}/redirect/5`));
    expect(result).toMatchObject({ redirects: 5, finalUrl: `${origin}/small`, size: SMALL.length });
    expect(await storedSha()).toBe(sha256(SMALL));
    expect(connections - before).toBe(6);
  });

  it('refuses a 6th redirect with too_many_redirects', async () => {
    const before = connections;
    await expectFetchError(fetchToStorage(opts(`${origin}/redirect/6`)), 'too_many_redirects', /more than 5/);
    expect(connections - before).toBe(6); // the 6th Location is never followed
    await expectNothingStored();
  });

  it('honours a smaller maxRedirects', async () => {
    await expectFetchError(
      fetchToStorage(opts(`${origin}/redirect/1`, { maxRedirects: 0 })),
      'too_many_redirects',
    );
    const ok = await fetchToStorage(opts(`${origin}/redirect/1`, { maxRedirects: 1 }));
    expect(ok.redirects).toBe(1);
  });

  it('connects to the address the injected lookup returned for an allow-listed name', async () => {
    const calls: string[] = [];
    const lookup: LookupFn = async (host) => {
      calls.push(host);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const before = connections;
    const result = await fetchToStorage(
      opts(`http://media.test:${port}/small`, { lookup, allowHosts: [`media.test:${port}`] }),
    );
    expect(result.size).toBe(SMALL.length);
    expect(calls).toEqual(['media.test']);
    expect(connections - before).toBe(1);
    expect(requests[0]!.headers.host).toBe(`media.test:${port}`);
  });
});

describe('fetchToStorage: SSRF', () => {
  const PRIVATE_HINT = /fetching private addresses is not allowed \(add the host to VOD_FETCH_ALLOW_HOSTS/;

  it('refuses the local server without the allow-list, before connecting', async () => {
    const before = connections;
    const err = await expectFetchError(
      fetchToStorage(opts(`http://127.0.0.1:${port}/x`, { allowHosts: [] })),
      'forbidden_address',
      PRIVATE_HINT,
    );
    expect(err.message).toMatch(/^127\.0\.0\.1 is a loopback address; /);
    expect(connections).toBe(before);
    await expectNothingStored();
  });

  it('does not let an allow-list entry for another port through', async () => {
    const before = connections;
    await expectFetchError(
      fetchToStorage(opts(`${origin}/x`, { allowHosts: ['127.0.0.1:1', 'localhost'] })),
      'forbidden_address',
    );
    expect(connections).toBe(before);
  });

  it.each([
    ['http://10.0.0.1/x', /^10\.0\.0\.1 is a private address/],
    ['http://169.254.169.254/latest/meta-data/', /^169\.254\.169\.254 is the cloud metadata service address/],
    ['http://[fd00:ec2::254]/latest/meta-data/', /^fd00:ec2::254 is the cloud metadata service address/],
    ['https://192.168.1.1/', /^192\.168\.1\.1 is a private address/],
    ['http://0x7f000001/', /^127\.0\.0\.1 is a loopback address/], // the URL parser normalises the host
    ['http://2130706433/', /^127\.0\.0\.1 is a loopback address/],
  ])('refuses %s immediately, without trying to connect', async (url, message) => {
    const [err, ms] = await timed(() =>
      expectFetchError(fetchToStorage(opts(url, { allowHosts: [] })), 'forbidden_address', message),
    );
    expect(err.message).toMatch(PRIVATE_HINT);
    expect(ms).toBeLessThan(250);
    await expectNothingStored();
  });

  it.each([
    ['[::1]', /^::1 is a loopback address/],
    ['[::ffff:127.0.0.1]', /^::ffff:7f00:1 is the IPv4-mapped form of 127\.0\.0\.1, a loopback address/],
  ])('refuses IPv6 literal %s before connecting', async (host, message) => {
    const before = connections;
    const [, ms] = await timed(() =>
      expectFetchError(
        fetchToStorage(opts(`http://${host}:${port}/x`, { allowHosts: [] })),
        'forbidden_address',
        message,
      ),
    );
    expect(ms).toBeLessThan(250);
    expect(connections).toBe(before);
  });

  it('refuses a redirect from an allow-listed server to 127.0.0.2 at the redirect', async () => {
    const before = connections;
    const target = `http://127.0.0.2:${port}/x`;
    const err = await expectFetchError(
      fetchToStorage(opts(`${origin}/to?loc=${encodeURIComponent(target)}`)),
      'forbidden_address',
      /^127\.0\.0\.2 is a loopback address/,
    );
    expect(err.url).toBe(target);
    expect(connections - before).toBe(1); // only the allow-listed request
    await expectNothingStored();
  });

  it('refuses a redirect from an allow-listed server to 10.0.0.1 immediately', async () => {
    const before = connections;
    const [, ms] = await timed(() =>
      expectFetchError(
        fetchToStorage(opts(`${origin}/to?status=301&loc=${encodeURIComponent('http://10.0.0.1/')}`)),
        'forbidden_address',
        /^10\.0\.0\.1 is a private address/,
      ),
    );
    expect(ms).toBeLessThan(500);
    expect(connections - before).toBe(1);
  });

  it('refuses a host name resolving to loopback (localhost), before connecting', async () => {
    const before = connections;
    await expectFetchError(
      fetchToStorage(opts(`http://localhost:${port}/x`, { allowHosts: [] })),
      'forbidden_address',
      /^localhost resolves to (127\.0\.0\.1|::1), which is a loopback address; fetching private/,
    );
    expect(connections).toBe(before);
  });

  it('refuses evil.test when the (injected) DNS answer is 127.0.0.1, before connecting', async () => {
    const lookup: LookupFn = async (host) =>
      host === 'evil.test' ? [{ address: '127.0.0.1', family: 4 }] : Promise.reject(new Error('no'));
    const before = connections;
    await expectFetchError(
      fetchToStorage(opts(`http://evil.test:${port}/x`, { lookup })),
      'forbidden_address',
      /^evil\.test resolves to 127\.0\.0\.1, which is a loopback address/,
    );
    expect(connections).toBe(before);
  });

  it('refuses when any one of several DNS answers is forbidden, connecting to none of them', async () => {
    // A rebinding-style answer mixing a public and a private address. The private one comes first so that
    // a regression would show up as a connection to the local server, never as traffic to the public one.
    const lookup: LookupFn = async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '93.184.216.34', family: 4 },
    ];
    const before = connections;
    await expectFetchError(
      fetchToStorage(opts(`http://rebind.test:${port}/small`, { lookup })),
      'forbidden_address',
      /^rebind\.test resolves to 127\.0\.0\.1, which is a loopback address/,
    );
    expect(connections).toBe(before);
  });

  it('refuses a redirect to a name that resolves to a forbidden address', async () => {
    const lookup: LookupFn = async () => [{ address: '127.0.0.1', family: 4 }];
    const before = connections;
    const target = `http://internal.test:${port}/small`;
    await expectFetchError(
      fetchToStorage(opts(`${origin}/to?loc=${encodeURIComponent(target)}`, { lookup })),
      'forbidden_address',
      /^internal\.test resolves to 127\.0\.0\.1/,
    );
    expect(connections - before).toBe(1);
  });
});

describe('fetchToStorage: bad URLs', () => {
  it.each([
    ['ftp://127.0.0.1/file.mp4', /only http:\/\/ and https:\/\//],
    ['file:///etc/passwd', /only http:\/\/ and https:\/\//],
    ['http://user:pw@example.com/x.mp4', /credentials/],
    ['http://user@example.com/x.mp4', /credentials/],
    ['not a url', /not a valid URL/],
  ])('refuses %s with bad_url', async (url, message) => {
    const err = await expectFetchError(fetchToStorage(opts(url)), 'bad_url', message);
    expect(err.message).not.toContain('pw');
  });

  it('refuses a redirect to ftp:// or to a URL with credentials', async () => {
    await expectFetchError(
      fetchToStorage(opts(`${origin}/to?loc=${encodeURIComponent('ftp://127.0.0.1/x')}`)),
      'bad_url',
      /redirected from/,
    );
    await expectFetchError(
      fetchToStorage(opts(`${origin}/to?loc=${encodeURIComponent(`http://u:p@127.0.0.1:${port}/small`)}`)),
      'bad_url',
      /credentials/,
    );
    await expectNothingStored();
  });
});

describe('fetchToStorage: responses', () => {
  it('refuses a 404 with http_status', async () => {
    const err = await expectFetchError(fetchToStorage(opts(`${origin}/missing`)), 'http_status', /404/);
    expect(err.status).toBe(404);
    await expectNothingStored();
  });

  it('refuses a 206 with http_status', async () => {
    const err = await expectFetchError(fetchToStorage(opts(`${origin}/partial`)), 'http_status', /206/);
    expect(err.status).toBe(206);
  });

  it('refuses a redirect without Location', async () => {
    await expectFetchError(fetchToStorage(opts(`${origin}/to?status=302&loc=`)), 'http_status', /Location/);
  });

  it.each([
    ['/html', /the URL returned a web page, not a media file/],
    ['/json', /the URL returned a web page, not a media file/],
  ])('refuses %s with not_media', async (path, message) => {
    await expectFetchError(fetchToStorage(opts(`${origin}${path}`)), 'not_media', message);
    await expectNothingStored();
  });

  it('refuses a body sent gzip-encoded despite Accept-Encoding: identity', async () => {
    await expectFetchError(fetchToStorage(opts(`${origin}/gzip`)), 'not_media', /gzip/);
    await expectNothingStored();
  });
});

describe('fetchToStorage: size limit', () => {
  it('refuses a declared Content-Length above maxBytes before reading the body', async () => {
    const [, ms] = await timed(() =>
      expectFetchError(fetchToStorage(opts(`${origin}/declared-huge`)), 'too_large', /10\.0 GiB/),
    );
    expect(ms).toBeLessThan(1000);
    await expectNothingStored();
  });

  it('aborts a chunked body as soon as it exceeds maxBytes, leaving nothing behind', async () => {
    await expectFetchError(
      fetchToStorage(opts(`${origin}/chunked`, { maxBytes: 1024 * 1024 })),
      'too_large',
      /1\.0 MiB limit/,
    );
    await expectNothingStored();
  });

  it('aborts a close-delimited body (no Content-Length) over maxBytes', async () => {
    await expectFetchError(
      fetchToStorage(opts(`http://127.0.0.1:${rawPort}/close-delimited`, { maxBytes: 1024 * 1024 })),
      'too_large',
    );
    await expectNothingStored();
  });

  it('a Content-Length lower than what is sent does not let the extra bytes in', async () => {
    const result = await fetchToStorage(opts(`http://127.0.0.1:${rawPort}/lying-short`, { maxBytes: 4096 }));
    expect(result.size).toBe(1000);
    expect(await storedSha()).toBe(sha256(BIG.subarray(0, 1000)));
  });

  it('a body exactly maxBytes long is accepted', async () => {
    const result = await fetchToStorage(opts(`${origin}/big`, { maxBytes: BIG.length }));
    expect(result.size).toBe(BIG.length);
    await expectFetchError(
      fetchToStorage(opts(`${origin}/chunked`, { maxBytes: BIG.length - 1 })),
      'too_large',
    );
  });

  it('deletes the key explicitly when the download fails after the put started', async () => {
    // The file store never publishes a failed put; the explicit delete is for stores that might.
    const deleted: string[] = [];
    const recording: ObjectStore = Object.create(store, {
      delete: {
        value: async (key: string) => {
          deleted.push(key);
          await store.delete(key);
        },
      },
    });
    await expectFetchError(
      fetchToStorage(opts(`${origin}/chunked`, { store: recording, maxBytes: 1024 * 1024 })),
      'too_large',
    );
    expect(deleted).toEqual([KEY]);
    deleted.length = 0;
    // Refused before the put: nothing to delete.
    await expectFetchError(
      fetchToStorage(opts(`${origin}/declared-huge`, { store: recording })),
      'too_large',
    );
    expect(deleted).toEqual([]);
  });

  it('passes a storage failure through as is, stops the download and cleans up', async () => {
    const deleted: string[] = [];
    const broken = new StorageError('unavailable', 'disk on fire');
    const failing: ObjectStore = Object.create(store, {
      put: {
        value: async (_key: string, body: AsyncIterable<Buffer>) => {
          let seen = 0;
          for await (const chunk of body) {
            seen += chunk.length;
            if (seen > 256 * 1024) throw broken;
          }
          throw new Error('unreachable');
        },
      },
      delete: {
        value: async (key: string) => {
          deleted.push(key);
          await store.delete(key);
        },
      },
    });
    const err = await fetchToStorage(opts(`${origin}/big`, { store: failing })).catch((e) => e);
    expect(err).toBe(broken);
    expect(deleted).toEqual([KEY]);
    await expectNothingStored();
  });

  it('a body cut short of its Content-Length fails with network and leaves nothing behind', async () => {
    await expectFetchError(fetchToStorage(opts(`http://127.0.0.1:${rawPort}/truncated`)), 'network');
    await expectNothingStored();
  });
});

describe('fetchToStorage: time limits and cancellation', () => {
  it('fails with timeout when the server sends headers and then stalls (idle timeout)', async () => {
    const [, ms] = await timed(() =>
      expectFetchError(
        fetchToStorage(opts(`${origin}/stall`, { idleTimeoutMs: 300 })),
        'timeout',
        /sent nothing for 300 ms/,
      ),
    );
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(1500);
    await expectNothingStored();
  });

  it('fails with timeout when the server never answers the request', async () => {
    const [, ms] = await timed(() =>
      expectFetchError(fetchToStorage(opts(`${origin}/no-headers`, { idleTimeoutMs: 300 })), 'timeout'),
    );
    expect(ms).toBeLessThan(1500);
  });

  it('fails with timeout at the overall bound even while bytes keep trickling in', async () => {
    const [, ms] = await timed(() =>
      expectFetchError(
        fetchToStorage(opts(`${origin}/trickle`, { timeoutMs: 600, idleTimeoutMs: 5000 })),
        'timeout',
        /did not finish within 600 ms/,
      ),
    );
    expect(ms).toBeGreaterThanOrEqual(580);
    expect(ms).toBeLessThan(2000);
    await expectNothingStored();
  });

  it('rejects with the signal reason when aborted mid-download, leaving nothing behind', async () => {
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    setTimeout(() => controller.abort(reason), 200);
    const err = await fetchToStorage(opts(`${origin}/trickle`, { signal: controller.signal })).catch(
      (e) => e,
    );
    expect(err).toBe(reason);
    await expectNothingStored();
  });

  it('rejects at once with an already-aborted signal, without connecting', async () => {
    const before = connections;
    const err = await fetchToStorage(opts(`${origin}/small`, { signal: AbortSignal.abort() })).catch(
      (e) => e,
    );
    expect((err as Error).name).toBe('AbortError');
    expect(connections).toBe(before);
  });
});
