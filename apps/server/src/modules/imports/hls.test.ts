/**
 * HLS import against a real local http server serving real ffmpeg-made HLS (MPEG-TS and fMP4), a live
 * playlist the server grows with the clock, and a file object store in a temp directory. Results are
 * checked with ffprobe.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ObjectStore } from '@vodcloud/storage';
import { createObjectStore } from '@vodcloud/storage';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FetchError, type FetchErrorCode } from './fetch-errors';
import { type HlsImportOptions, importHlsToStorage, isHlsPlaylist } from './hls';

const run = promisify(execFile);
let fixtures: string;

async function ffmpegHls(dir: string, seconds: number, hlsTime: number, extra: string[] = []): Promise<void> {
  await run('mkdir', ['-p', join(fixtures, dir)]);
  const args = ['-hide_banner', '-loglevel', 'error', '-y'];
  args.push('-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${seconds}`);
  args.push('-f', 'lavfi', '-i', 'sine', '-t', String(seconds));
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac');
  args.push('-f', 'hls', '-hls_time', String(hlsTime), '-hls_playlist_type', 'vod', ...extra);
  await run('ffmpeg', [...args, join(fixtures, dir, 'out.m3u8')], { timeout: 60_000 });
}

/** Duration and video frame count, as ffprobe reads them (decoding every frame). */
async function probe(file: string): Promise<{ duration: number; frames: number }> {
  const { stdout } = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'format=duration:stream=codec_type,nb_read_frames',
    ].concat(['-of', 'json', file]),
    { timeout: 60_000 },
  );
  const info = JSON.parse(stdout) as {
    format: { duration: string };
    streams: Array<{ codec_type: string; nb_read_frames: string }>;
  };
  const video = info.streams.find((s) => s.codec_type === 'video')!;
  return { duration: Number(info.format.duration), frames: Number(video.nb_read_frames) };
}

// ---------------------------------------------------------------- the local http server

let server: Server;
let origin: string;
let port: number;
/** A second server, never allow-listed: nothing must ever connect to it. */
let other: Server;
let otherPort: number;
let otherConnections = 0;
let requested: string[] = [];
const openSockets = new Set<Socket>();
/** When each live playlist was first asked for: it grows from then on. */
const liveStarted = new Map<string, number>();
const LIVE_SEGMENTS = 4;

/** The live playlist at `elapsed` s: one segment more each second, a sliding window of 2, then still. */
function livePlaylist(elapsed: number, endlist: boolean): string {
  const visible = Math.min(LIVE_SEGMENTS, 1 + Math.floor(elapsed));
  const first = Math.max(0, visible - 2);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', `#EXT-X-MEDIA-SEQUENCE:${first}`];
  for (let i = first; i < visible; i++) lines.push('#EXTINF:1.000000,', `out${i}.ts`);
  if (endlist && visible === LIVE_SEGMENTS) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

const PLAYLISTS: Record<string, () => string> = {
  '/master.m3u8': () =>
    [
      '#EXTM3U',
      '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=320x240',
      'ts/out.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=320x240,CODECS="avc1.42c00d,mp4a.40.2"',
      'fm/out.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=1200000',
      '/ts/out.m3u8?mid',
    ].join('\n'),
  '/private.m3u8': () =>
    '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://10.1.2.3/x.ts\n#EXT-X-ENDLIST\n',
  '/other-port.m3u8': () =>
    `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n/ts/out0.ts\n#EXTINF:2,\nhttp://127.0.0.1:${otherPort}/x.ts\n#EXT-X-ENDLIST\n`,
  '/aes.m3u8': () =>
    '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI="key.bin"\n#EXTINF:2,\nts/out0.ts\n#EXT-X-ENDLIST\n',
  '/discontinuity.m3u8': () =>
    '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-DISCONTINUITY\n#EXTINF:2,\nts/out0.ts\n#EXT-X-DISCONTINUITY\n' +
    '#EXTINF:2,\nts/out1.ts\n#EXT-X-ENDLIST\n',
  // The first fetch sees segment 0; by the next, 1 has slid out of the window.
  '/gap.m3u8': () =>
    requested.filter((r) => r === '/gap.m3u8').length === 1
      ? '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nlive/out0.ts\n'
      : '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:2\n#EXTINF:1,\nlive/out2.ts\n' +
        '#EXTINF:1,\nlive/out3.ts\n#EXT-X-ENDLIST\n',
  '/html-segment.m3u8': () => '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n/page\n#EXT-X-ENDLIST\n',
};

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  requested.push(req.url ?? '');
  const hls = { 'content-type': 'application/vnd.apple.mpegurl' };
  const live = /^\/(live-idle|live-end)\/index\.m3u8$/.exec(path);
  if (live) {
    const started = liveStarted.get(path) ?? performance.now();
    liveStarted.set(path, started);
    res.writeHead(200, hls);
    res.end(livePlaylist((performance.now() - started) / 1000, live[1] === 'live-end'));
  } else if (PLAYLISTS[path]) {
    res.writeHead(200, hls);
    res.end(PLAYLISTS[path]());
  } else if (path === '/redirect.m3u8') {
    res.writeHead(302, { location: '/ts/out.m3u8' });
    res.end();
  } else if (path === '/page') {
    res.writeHead(200, { 'content-type': 'video/mp2t' });
    res.end('<!doctype html><title>Oops</title>');
  } else {
    const file = path.replace(/^\/live-(idle|end)\//, '/live/');
    readFile(join(fixtures, file)).then(
      (body) => {
        // Python's and many distributions' MIME tables call .ts TypeScript: the import must not mind.
        const type = file.endsWith('.m3u8') ? hls['content-type'] : 'text/vnd.trolltech.linguist';
        res.writeHead(200, { 'content-type': type, 'content-length': body.length });
        res.end(body);
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  }
}

beforeAll(async () => {
  fixtures = await mkdtemp(join(tmpdir(), 'vodcloud-hls-fixtures-'));
  await Promise.all([
    ffmpegHls('ts', 8, 2),
    ffmpegHls('fm', 8, 2, ['-hls_segment_type', 'fmp4']),
    ffmpegHls('live', LIVE_SEGMENTS, 1),
  ]);
  server = createServer(handle);
  server.on('connection', (socket: Socket) => {
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  other = createServer((_req, res) => res.end('should never be reached'));
  other.on('connection', () => otherConnections++);
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  otherPort = (other.address() as AddressInfo).port;
}, 60_000);

afterAll(async () => {
  for (const s of openSockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => other.close(() => resolve()));
  await rm(fixtures, { recursive: true, force: true });
});

// ---------------------------------------------------------------- store and helpers

let dir: string;
let store: ObjectStore;
const KEY = 'recordings/rec_1/source';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vodcloud-hls-'));
  store = await createObjectStore(`file:${dir}`);
  requested = [];
  liveStarted.clear();
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function opts(path: string, extra: Partial<HlsImportOptions> = {}): HlsImportOptions {
  return {
    url: `${origin}${path}`,
    store,
    key: KEY,
    maxBytes: 64 * 1024 * 1024,
    timeoutMs: 20_000,
    allowHosts: [`127.0.0.1:${port}`],
    ...extra,
  };
}

/** The stored object, copied to a file ffprobe can read. */
async function storedFile(name: string): Promise<string> {
  const { body } = await store.get(KEY);
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk as Buffer);
  const file = join(dir, name);
  await writeFile(file, Buffer.concat(parts));
  return file;
}

async function expectFetchError(promise: Promise<unknown>, code: FetchErrorCode, message?: RegExp) {
  const err = await promise.then(
    () => new Error(`expected a FetchError ${code}, but the import succeeded`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FetchError);
  expect({ code: (err as FetchError).code, message: (err as FetchError).message }).toMatchObject({ code });
  if (message) expect((err as FetchError).message).toMatch(message);
}

async function expectNothingStored(): Promise<void> {
  expect(await store.head(KEY)).toBeNull();
  expect((await store.list('')).items).toEqual([]);
  expect(await readdir(join(dir, '.tmp')).catch(() => [])).toEqual([]);
}

/** How many times each segment path was requested. */
function segmentRequests(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of requested.filter((p) => /\.(ts|m4s)$/.test(p))) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

// ---------------------------------------------------------------- tests

describe('importHlsToStorage: VOD playlists', () => {
  it('concatenates an MPEG-TS playlist into one object with the source duration and frame count', async () => {
    const result = await importHlsToStorage(opts('/ts/out.m3u8'));
    expect(result).toMatchObject({
      segments: 4,
      ended: 'endlist',
      durationSec: 8,
      container: 'ts',
      finalUrl: `${origin}/ts/out.m3u8`,
      discontinuities: 0,
      gaps: 0,
    });
    expect((await store.head(KEY))?.contentType).toBe('video/mp2t');
    const got = await probe(await storedFile('got.ts'));
    const source = await probe(join(fixtures, 'ts', 'out.m3u8'));
    expect(source.frames).toBe(200);
    expect(got.frames).toBe(source.frames);
    expect(Math.abs(got.duration - 8)).toBeLessThanOrEqual(0.2);
    expect(result.size).toBe((await store.head(KEY))?.size);
  });

  it('writes an fMP4 playlist as its init section once, then the fragments: a playable file', async () => {
    const result = await importHlsToStorage(opts('/fm/out.m3u8'));
    expect(result).toMatchObject({ segments: 4, ended: 'endlist', container: 'fmp4', durationSec: 8 });
    expect(requested.filter((r) => r.endsWith('init.mp4'))).toHaveLength(1);
    const got = await probe(await storedFile('got.mp4'));
    expect(got.frames).toBe(200);
    expect(Math.abs(got.duration - 8)).toBeLessThanOrEqual(0.2);
  });

  it('picks the highest-BANDWIDTH variant of a master playlist, wherever it is listed', async () => {
    const result = await importHlsToStorage(opts('/master.m3u8'));
    expect(result).toMatchObject({ container: 'fmp4', finalUrl: `${origin}/fm/out.m3u8`, segments: 4 });
    expect(requested.some((r) => r.startsWith('/ts/'))).toBe(false);
  });

  it('resolves segment URLs against the playlist URL after redirects', async () => {
    const result = await importHlsToStorage(opts('/redirect.m3u8'));
    expect(result).toMatchObject({ finalUrl: `${origin}/ts/out.m3u8`, segments: 4 });
    expect(Object.keys(segmentRequests()).sort()).toEqual([0, 1, 2, 3].map((i) => `/ts/out${i}.ts`));
  });
});

describe('importHlsToStorage: discontinuities', () => {
  it('counts the discontinuities between stored segments (not one before the first)', async () => {
    const result = await importHlsToStorage(opts('/discontinuity.m3u8'));
    expect(result).toMatchObject({ segments: 2, discontinuities: 1, durationSec: 4 });
  });
});

describe('importHlsToStorage: live playlists', () => {
  it('follows a sliding window until it stops changing: every segment once, in order (idle)', async () => {
    const began = performance.now();
    const result = await importHlsToStorage(opts('/live-idle/index.m3u8', { idleSec: 1 }));
    const elapsed = (performance.now() - began) / 1000;
    expect(result).toMatchObject({
      ended: 'idle',
      segments: LIVE_SEGMENTS,
      gaps: 0,
      durationSec: LIVE_SEGMENTS,
    });
    expect(segmentRequests()).toEqual(
      Object.fromEntries([0, 1, 2, 3].map((i) => [`/live-idle/out${i}.ts`, 1])),
    );
    // Grows for 3 s, then idle after max(3 × 1 s, idleSec 1 s) without change.
    expect(elapsed).toBeGreaterThan(5.5);
    const got = await probe(await storedFile('live.ts'));
    expect(got.frames).toBe(100);
    expect(Math.abs(got.duration - LIVE_SEGMENTS)).toBeLessThanOrEqual(0.2);
  });

  it('ends as soon as ENDLIST appears, not after the idle bound', async () => {
    const began = performance.now();
    const result = await importHlsToStorage(opts('/live-end/index.m3u8', { idleSec: 30 }));
    const elapsed = (performance.now() - began) / 1000;
    expect(result).toMatchObject({ ended: 'endlist', segments: LIVE_SEGMENTS, gaps: 0 });
    expect(elapsed).toBeGreaterThan(2.9); // it did wait for the stream to grow
    expect(elapsed).toBeLessThan(5.5);
    expect(Object.values(segmentRequests())).toEqual([1, 1, 1, 1]);
  });

  it('counts the segments that slid away before they could be fetched, and carries on', async () => {
    const result = await importHlsToStorage(opts('/gap.m3u8'));
    expect(result).toMatchObject({ ended: 'endlist', segments: 3, gaps: 1, durationSec: 3 });
    expect(Object.keys(segmentRequests())).toEqual(['/live/out0.ts', '/live/out2.ts', '/live/out3.ts']);
  });

  it('stops at the wait bound while the stream still grows', async () => {
    const result = await importHlsToStorage(opts('/live-idle/index.m3u8', { liveWaitSec: 0 }));
    expect(result).toMatchObject({ ended: 'wait_bound', segments: 1 });
  });
});

describe('importHlsToStorage: time bound and cancellation', () => {
  it('fails with timeout at timeoutMs while waiting on a live stream, removing what it stored', async () => {
    await expectFetchError(
      importHlsToStorage(opts('/live-idle/index.m3u8', { timeoutMs: 1500, idleSec: 30 })),
      'timeout',
    );
    expect(requested).toContain('/live-idle/out0.ts');
    await expectNothingStored();
  });

  it('rejects with the signal reason when aborted between polls, removing what it stored', async () => {
    const done = importHlsToStorage(opts('/live-idle/index.m3u8', { signal: AbortSignal.timeout(1200) }));
    const err = await done.then(
      () => new Error('the import finished although aborted'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe('TimeoutError');
    expect(requested).toContain('/live-idle/out0.ts');
    await expectNothingStored();
  });
});

describe('importHlsToStorage: refusals', () => {
  it('refuses a segment at a private address, storing nothing', async () => {
    await expectFetchError(importHlsToStorage(opts('/private.m3u8')), 'forbidden_address', /10\.1\.2\.3/);
    await expectNothingStored();
  });

  it('refuses a segment on a loopback port not in allowHosts, after the first segment, without connecting', async () => {
    await expectFetchError(importHlsToStorage(opts('/other-port.m3u8')), 'forbidden_address', /127\.0\.0\.1/);
    expect(requested).toContain('/ts/out0.ts');
    expect(otherConnections).toBe(0);
    await expectNothingStored();
  });

  it('refuses with too_large once the segments pass maxBytes, storing nothing', async () => {
    await expectFetchError(importHlsToStorage(opts('/ts/out.m3u8', { maxBytes: 300_000 })), 'too_large');
    expect(requested).toContain('/ts/out0.ts');
    await expectNothingStored();
  });

  it('refuses more than maxSegments segments', async () => {
    await expectFetchError(
      importHlsToStorage(opts('/ts/out.m3u8', { maxSegments: 3 })),
      'too_large',
      /3 segments/,
    );
    await expectNothingStored();
  });

  it('refuses an encrypted playlist (EXT-X-KEY AES-128) before fetching any segment', async () => {
    await expectFetchError(importHlsToStorage(opts('/aes.m3u8')), 'unsupported_playlist', /AES-128/);
    expect(Object.keys(segmentRequests())).toEqual([]);
    await expectNothingStored();
  });

  it('refuses a segment that is an HTML page, whatever its Content-Type', async () => {
    await expectFetchError(importHlsToStorage(opts('/html-segment.m3u8')), 'not_media', /MPEG-TS/);
    await expectNothingStored();
  });

  it('refuses a URL that is not a playlist', async () => {
    await expectFetchError(importHlsToStorage(opts('/ts/out0.ts')), 'not_media', /#EXTM3U/);
    await expectNothingStored();
  });
});

describe('isHlsPlaylist', () => {
  it('recognises a playlist by its first bytes, its content type or its path', () => {
    expect(isHlsPlaylist(undefined, Buffer.from('#EXTM3U\n#EXT-X-VERSION:3'), 'http://h/x')).toBe(true);
    expect(isHlsPlaylist(undefined, Buffer.from('\xEF\xBB\xBF#EXTM3U', 'latin1'), 'http://h/x')).toBe(true);
    expect(isHlsPlaylist('application/vnd.apple.mpegurl; charset=utf-8', '', 'http://h/x')).toBe(true);
    expect(isHlsPlaylist('audio/x-mpegURL', '', 'http://h/x')).toBe(true);
    expect(isHlsPlaylist('application/octet-stream', '', 'https://h/live/index.M3U8?token=1')).toBe(true);
    expect(isHlsPlaylist('video/mp4', Buffer.from([0, 0, 0, 0x18, 0x66, 0x74]), 'http://h/a.mp4')).toBe(
      false,
    );
    expect(isHlsPlaylist(undefined, 'x #EXTM3U', 'not a url')).toBe(false);
  });
});
