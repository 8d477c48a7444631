import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger';
import { RequestLogController, registerRequestLogContext, requestChildLogger } from './request-log';

// Lines that services log through the process's root logger (not req.log) while handling a request carry
// the request's id: for requests without a body (the context entered in onRequest) and with a JSON body
// (the handler runs from the body's 'end' event: the context is entered again in preValidation).
describe('request log context', () => {
  const lines: Array<Record<string, unknown>> = [];
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => {
    for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
  });
  let app: ReturnType<typeof Fastify>;

  beforeAll(async () => {
    const root = await createLogger({ level: 'debug', format: 'json', destination: out });
    app = Fastify({
      loggerInstance: root,
      logController: new RequestLogController(),
      childLoggerFactory: requestChildLogger,
    });
    registerRequestLogContext(app);
    const work = async (what: string) => {
      await sleep(5); // across an await, as a service does
      root.info({ what }, 'service line');
    };
    app.get('/thing', async () => {
      await work('get');
      return { ok: true };
    });
    app.post('/thing', async () => {
      await work('post');
      return { ok: true };
    });
    app.get('/livez', async () => ({ ok: true }));
    app.get('/v1/invitations/:token', async () => ({ ok: true }));
    app.get('/hls/:file', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  const serviceLine = (what: string) => lines.find((l) => l.msg === 'service line' && l.what === what);

  it('puts the request id on root-logger lines of a GET and of a POST with a body', async () => {
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const get = await fetch(`${base}/thing`);
    const post = await fetch(`${base}/thing`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 'x'.repeat(200_000) }), // several chunks: the body's 'end' comes later
    });
    expect([get.status, post.status]).toEqual([200, 200]);
    await sleep(20);
    const ids = lines.filter((l) => l.msg === 'incoming request').map((l) => l.reqId);
    expect(ids).toHaveLength(2);
    expect(serviceLine('get')?.reqId).toBe(ids[0]);
    expect(serviceLine('post')?.reqId).toBe(ids[1]);
  });

  it('logs probes at debug and other requests at info', async () => {
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    await fetch(`${base}/livez`);
    await sleep(20);
    const probe = lines.filter((l) => (l.req as { url?: string } | undefined)?.url === '/livez');
    expect(probe.map((l) => l.level)).toEqual([20]);
    const thing = lines.filter((l) => (l.req as { url?: string } | undefined)?.url === '/thing');
    expect(thing.map((l) => l.level)).toEqual([30, 30]);
  });

  it('never logs the secrets that ride in URLs: one-time link tokens and token query parameters', async () => {
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const secret = 'S3cr3tT0k3nS3cr3tT0k3nS3cr3tT0k3nS3cr3tT0k3';
    await fetch(`${base}/v1/invitations/${secret}`);
    await fetch(`${base}/hls/master.m3u8?token=${secret}&thumbnailToken=${secret}&x=1`);
    await sleep(20);
    const urls = lines.map((l) => (l.req as { url?: string } | undefined)?.url).filter(Boolean);
    expect(urls).toContain('/v1/invitations/[redacted]');
    expect(urls).toContain('/hls/master.m3u8?token=[redacted]&thumbnailToken=[redacted]&x=1');
    expect(JSON.stringify(lines)).not.toContain(secret);
    const line = lines.find((l) => (l.req as { url?: string } | undefined)?.url?.startsWith('/v1/inv'));
    expect(line?.req).toMatchObject({ method: 'GET', remoteAddress: '127.0.0.1' });
  });
});
