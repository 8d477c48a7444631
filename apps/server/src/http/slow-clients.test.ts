import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/support/app';

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
});
