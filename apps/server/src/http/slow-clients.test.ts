import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/support/app';
import { makeWebReady } from '../../../../test/support/sources';
import { createUploadVia, sha256, waitFor } from '../../../../test/support/uploads';

// Issue 13, part 5: slow clients cannot hold a connection (and what is behind it) for long.

const HEADERS_TIMEOUT_MS = 2000;
const IDLE_TIMEOUT_MS = 3000;

/** Opens a raw connection; resolves what the server sent and when it closed the connection. */
async function rawConnection(url: string) {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  await once(socket, 'connect');
  const started = Date.now();
  let received = '';
  socket.on('data', (d) => {
    received += d.toString('latin1');
  });
  socket.on('error', () => undefined);
  const closed = new Promise<{ afterMs: number; received: string }>((resolve) =>
    socket.once('close', () => resolve({ afterMs: Date.now() - started, received })),
  );
  return { socket, closed };
}

describe('slow clients (issue 13, part 5)', () => {
  let s: TestServer;
  let auth: { authorization: string };
  beforeAll(async () => {
    s = await startTestServer({
      VOD_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      VOD_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
    });
    auth = (await s.tenant('slow')).auth;
  });
  afterAll(async () => s?.close());

  it('finding: slowloris (headers trickled one byte per second) is cut by the header timeout', async () => {
    const { socket, closed } = await rawConnection(s.url);
    socket.write('GET /livez HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    // One byte a second, forever: never idle, never complete.
    const trickle = setInterval(() => socket.writable && socket.write('a'), 1000);
    const limit = new Promise<'still open'>((r) => setTimeout(() => r('still open'), 8000));
    try {
      const result = await Promise.race([closed, limit]);
      expect(result, 'the server kept a trickling connection open for 8 s').not.toBe('still open');
      const { afterMs, received } = result as Awaited<typeof closed>;
      expect(afterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
      expect(afterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2000);
      // Answered 408 (or simply closed), never served.
      if (received) expect(received).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    expect((await fetch(`${s.url}/livez`)).status).toBe(200);
  }, 15_000);

  it('finding: a JSON body that stalls mid-request is released by the idle timeout', async () => {
    const { socket, closed } = await rawConnection(s.url);
    const body = JSON.stringify({ title: 'x'.repeat(80) });
    socket.write(
      [
        'PATCH /v1/videos/01JZZZZZZZZZZZZZZZZZZZZZZZ HTTP/1.1',
        'Host: localhost',
        `Authorization: ${auth.authorization}`,
        'Content-Type: application/json',
        `Content-Length: ${body.length}`,
        '',
        body.slice(0, 20),
      ].join('\r\n'),
    );
    // Then nothing: the rest of the body never comes.
    const limit = new Promise<'still open'>((r) => setTimeout(() => r('still open'), IDLE_TIMEOUT_MS + 5000));
    try {
      const result = await Promise.race([closed, limit]);
      expect(result, 'the server kept a stalled request open').not.toBe('still open');
      const { afterMs } = result as Awaited<typeof closed>;
      expect(afterMs).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 100);
      expect(afterMs).toBeLessThan(IDLE_TIMEOUT_MS + 3000);
    } finally {
      socket.destroy();
    }
    expect((await fetch(`${s.url}/livez`)).status).toBe(200);
  }, 15_000);

  it('finding: a tus PATCH that stalls mid-body is released by the idle timeout; the bytes before the stall are kept and the upload resumes byte-exact', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vodslow-'));
    try {
      const data = await readFile(
        await makeWebReady(path.join(dir, 'v.mp4'), { duration: 2, size: '320x240' }),
      );
      const created = await createUploadVia(s.url, auth, { title: 'stalled patch' });
      const tusHeaders = { ...created.headers, 'tus-resumable': '1.0.0' };
      const made = await fetch(created.url, {
        method: 'POST',
        headers: { ...tusHeaders, 'upload-length': String(data.length) },
      });
      expect(made.status).toBe(201);
      const location = new URL(made.headers.get('location')!, created.url);

      // A PATCH announcing every byte, sending half, then nothing.
      const half = Math.floor(data.length / 2);
      const { socket, closed } = await rawConnection(s.url);
      socket.write(
        [
          `PATCH ${location.pathname} HTTP/1.1`,
          'Host: localhost',
          ...Object.entries(tusHeaders).map(([k, v]) => `${k}: ${v}`),
          'Content-Type: application/offset+octet-stream',
          'Upload-Offset: 0',
          `Content-Length: ${data.length}`,
          '',
          '',
        ].join('\r\n'),
      );
      socket.write(data.subarray(0, half));
      const limit = new Promise<'still open'>((r) =>
        setTimeout(() => r('still open'), IDLE_TIMEOUT_MS + 5000),
      );
      const result = await Promise.race([closed, limit]);
      socket.destroy();
      expect(result, 'the server kept a stalled PATCH open').not.toBe('still open');
      expect((result as Awaited<typeof closed>).afterMs).toBeLessThan(IDLE_TIMEOUT_MS + 3000);

      // The upload is not locked by the dead request, and what arrived before the stall was kept.
      const offset = await waitFor(
        async () => {
          const head = await fetch(location, { method: 'HEAD', headers: tusHeaders });
          return head.status === 200 ? Number(head.headers.get('upload-offset')) : undefined;
        },
        10_000,
        'HEAD after the stall',
      );
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThanOrEqual(half);
      const rest = await fetch(location, {
        method: 'PATCH',
        headers: {
          ...tusHeaders,
          'content-type': 'application/offset+octet-stream',
          'upload-offset': String(offset),
        },
        body: data.subarray(offset),
      });
      expect(rest.status).toBe(204);
      expect(Number(rest.headers.get('upload-offset'))).toBe(data.length);
      const source = await waitFor(
        async () => {
          const r = await fetch(`${s.url}/v1/videos/${created.videoId}/source`, { headers: auth });
          return r.status === 200 ? Buffer.from(await r.arrayBuffer()) : undefined;
        },
        30_000,
        'the stored source',
      );
      expect(sha256(source)).toBe(sha256(data));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
