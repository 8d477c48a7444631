/**
 * Webhooks end to end: a real server (worker running, db queue), real HTTP receivers on 127.0.0.1
 * (allow-listed through VOD_FETCH_ALLOW_HOSTS), no mocks. Signatures are checked by an independent
 * Standard Webhooks verifier written here with WebCrypto (crypto.subtle HMAC), sharing no code with
 * the server's node:crypto signer.
 *
 * Works before and after the module is wired into the shared files: when the context has no
 * `webhooks` (or config does not know VOD_WEBHOOK_*), the test creates the tables with the module's
 * migration and wires the module itself exactly as context.ts would, with a short retry schedule.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENT_TYPES, WEBHOOK_EVENT_TYPES } from '@vodcloud/contracts';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../../test/support/app';
import { waitFor } from '../../../../../test/support/uploads';
import { loadConfig } from '../../config';
import { up as migrateWebhooks } from '../../db/migrations/004_webhooks';
import { migrations } from '../../db/migrations/index';
import { registerAuth } from '../../http/auth';
import { errorHandler } from '../../http/problem';
import type { ZodApp } from '../../http/types';
import { newId } from '../../lib/ids';
import { setupWebhooks } from './jobs';
import { WebhookRepository } from './repository';
import { webhookRoutes } from './routes';
import { MAX_RESPONSE_KEPT, MAX_RESPONSE_READ, postWebhook, sign } from './sender';
import { retryDelay, type WebhookService } from './service';

// ------------------------------------------------------------------ the independent verifier

/** Standard Webhooks verification with WebCrypto only (no node:crypto, nothing from the server). */
async function verifySignature(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  toleranceSec = 300,
  nowSec = Math.floor(Date.now() / 1000),
): Promise<boolean> {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sig = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof ts !== 'string' || typeof sig !== 'string') return false;
  if (!/^\d+$/.test(ts) || Math.abs(nowSec - Number(ts)) > toleranceSec) return false;
  if (!secret.startsWith('whsec_')) return false;
  const keyBytes = Uint8Array.from(atob(secret.slice('whsec_'.length)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
  const signed = new TextEncoder().encode(`${id}.${ts}.${body}`);
  for (const part of sig.split(' ')) {
    const [version, b64] = part.split(',');
    if (version !== 'v1' || !b64) continue;
    let mac: Uint8Array<ArrayBuffer>;
    try {
      mac = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    } catch {
      continue;
    }
    if (await crypto.subtle.verify('HMAC', key, mac, signed)) return true;
  }
  return false;
}

// ------------------------------------------------------------------ receivers

interface Received {
  path: string;
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

const FAST_RETRY = { baseMs: 200, maxMs: 400, attempts: 4 };

/** True when config knows the setting (the lead wired VOD_WEBHOOK_* into config.ts). */
function configKnows(name: string): boolean {
  try {
    loadConfig({}, { VOD_DATA_DIR: '/tmp/vod-webhooks-probe', [name]: '200' });
    return true;
  } catch {
    return false;
  }
}

describe('webhooks', () => {
  const received: Received[] = [];
  const flakyHits = new Map<string, number>();
  /** `/mend/…` paths answer 500 until added here. */
  const mended = new Set<string>();
  let receiver: http.Server;
  let port = 0;
  let closedPort = 0;
  let base = '';
  let s: TestServer;
  let hooks: WebhookService;
  let app: FastifyInstance;
  let a: Awaited<ReturnType<TestServer['tenant']>>;
  let b: Awaited<ReturnType<TestServer['tenant']>>;

  const hits = (path: string) => received.filter((r) => r.path === path);

  const api = async (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    who: { auth: { authorization: string } },
    payload?: InjectOptions['payload'],
  ) => {
    const res = await app.inject({
      method,
      url,
      headers: who.auth,
      ...(payload === undefined ? {} : { payload }),
    });
    return { status: res.statusCode, body: res.body, json: () => res.json() };
  };

  const createHook = async (path: string, events: string[], who = a) => {
    const res = await api('POST', '/v1/webhooks', who, { url: `${base}${path}`, events });
    expect(res.status, res.body).toBe(201);
    return res.json() as { id: string; url: string; events: string[]; secret: string; createdAt: string };
  };

  const deliveries = async (id: string, who = a) => {
    const res = await api('GET', `/v1/webhooks/${id}/deliveries`, who);
    expect(res.status, res.body).toBe(200);
    return (res.json() as { data: Array<Record<string, unknown>> }).data;
  };

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        received.push({
          path,
          method: req.method ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        });
        if (path.startsWith('/flaky/')) {
          const n = (flakyHits.get(path) ?? 0) + 1;
          flakyHits.set(path, n);
          res.writeHead(n <= 2 ? 500 : 200, { 'content-type': 'text/plain' });
          res.end(n <= 2 ? `boom ${n}` : 'finally');
        } else if (path.startsWith('/mend/') && !mended.has(path)) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('broken');
        } else if (path.startsWith('/fail/')) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('x'.repeat(10_000)); // more than the log keeps
        } else if (path.startsWith('/status/')) {
          res.writeHead(Number(path.split('/')[2]), { 'content-type': 'text/plain' });
          res.end('as asked');
        } else if (path.startsWith('/hang/')) {
          // Never answers: the delivery times out (the socket closes with the receiver).
        } else if (path.startsWith('/redirect/')) {
          res.writeHead(302, { location: `${base}/redirect-target${path}` });
          res.end();
        } else {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('thanks');
        }
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    port = (receiver.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;

    // A port nothing listens on (allow-listed too): deliveries there fail with a network error.
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const env: Record<string, string> = {
      VOD_FETCH_ALLOW_HOSTS: `127.0.0.1:${port},127.0.0.1:${closedPort}`,
      // Short, for the delivery that times out (the receiver answers everything else at once).
      VOD_WEBHOOK_TIMEOUT_MS: '1500',
    };
    if (configKnows('VOD_WEBHOOK_RETRY_BASE_MS')) {
      env.VOD_WEBHOOK_RETRY_BASE_MS = String(FAST_RETRY.baseMs);
      env.VOD_WEBHOOK_RETRY_MAX_MS = String(FAST_RETRY.maxMs);
      env.VOD_WEBHOOK_ATTEMPTS = String(FAST_RETRY.attempts);
    }
    s = await startTestServer(env);
    const wired = (s.ctx as unknown as { webhooks?: WebhookService }).webhooks;
    if (wired) {
      hooks = wired;
      app = s.app;
    } else {
      // Not wired into the shared files yet: do here what migrations/index.ts, context.ts and app.ts will.
      if (!('004_webhooks' in migrations)) await migrateWebhooks(s.ctx.db.primary as never);
      hooks = setupWebhooks({
        db: s.ctx.db,
        box: s.ctx.box,
        queue: s.ctx.ports.queue,
        events: s.ctx.events,
        log: s.ctx.log,
        allowHosts: s.ctx.config.fetchAllowHosts,
        retry: FAST_RETRY,
      });
      const fastify = Fastify();
      const zapp = fastify.withTypeProvider<ZodTypeProvider>();
      zapp.setValidatorCompiler(validatorCompiler);
      zapp.setSerializerCompiler(serializerCompiler);
      zapp.setErrorHandler(errorHandler);
      registerAuth(fastify, s.ctx.tenants);
      webhookRoutes(zapp as unknown as ZodApp, hooks);
      await fastify.ready();
      app = fastify;
    }
    expect(
      hooks.retry.baseMs,
      'the test needs a short retry schedule (VOD_WEBHOOK_RETRY_BASE_MS)',
    ).toBeLessThanOrEqual(1000);
    a = await s.tenant('hooks-a');
    b = await s.tenant('hooks-b');
  });

  afterAll(async () => {
    if (app && app !== s?.app) await app.close();
    await s?.close();
    await new Promise((r) => receiver?.close(r));
  });

  it('knows exactly the event types of the event log', () => {
    expect([...WEBHOOK_EVENT_TYPES].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('shows the secret once at creation and never again', async () => {
    const created = await createHook('/ok/secret', ['video.ready'], a);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32);
    expect(created).toMatchObject({ url: `${base}/ok/secret`, events: ['video.ready'] });

    const one = await api('GET', `/v1/webhooks/${created.id}`, a);
    expect(one.status).toBe(200);
    expect(one.json()).toEqual({
      id: created.id,
      url: created.url,
      events: ['video.ready'],
      description: null,
      createdAt: created.createdAt,
    });
    expect(one.body).not.toContain(created.secret.slice(6, 30));
    const list = await api('GET', '/v1/webhooks?limit=100', a);
    expect(list.status).toBe(200);
    expect(list.json().data.map((w: { id: string }) => w.id)).toContain(created.id);
    expect(list.body).not.toContain('"secret"');
    expect(one.body).not.toContain('"secret"');
    expect(list.body).not.toContain(created.secret.slice(6, 30));
    // Each endpoint has its own secret.
    const other = await createHook('/ok/secret2', ['video.ready'], a);
    expect(other.secret).not.toBe(created.secret);
  });

  it('delivers an event with a Standard Webhooks signature the independent verifier accepts', async () => {
    const hook = await createHook('/ok/signed', ['video.ready', 'video.errored'], a);
    const data = { id: 'V1', title: 'Grüße "quoted" ✓', duration: 61.5 };
    const ev = await s.ctx.events.emit(a.id, 'video.ready', null, data);
    const [got] = await waitFor(
      async () => {
        const h = hits('/ok/signed');
        return h.length ? h : undefined;
      },
      15_000,
      'the delivery',
    );
    expect(got!.method).toBe('POST');
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['webhook-id']).toBe(ev.id);
    const ts = Number(got!.headers['webhook-timestamp']);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(30);
    expect(got!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
    expect(JSON.parse(got!.body)).toEqual({ id: ev.id, type: 'video.ready', createdAt: ev.createdAt, data });

    expect(await verifySignature(hook.secret, got!.headers, got!.body)).toBe(true);
    // Tampering with anything signed is caught.
    expect(await verifySignature(hook.secret, got!.headers, got!.body.replace('61.5', '61.6'))).toBe(false);
    expect(
      await verifySignature(hook.secret, { ...got!.headers, 'webhook-timestamp': String(ts + 1) }, got!.body),
    ).toBe(false);
    expect(await verifySignature(hook.secret, { ...got!.headers, 'webhook-id': 'other' }, got!.body)).toBe(
      false,
    );
    const wrong = await createHook('/ok/unused', ['video.ready'], b);
    expect(await verifySignature(wrong.secret, got!.headers, got!.body)).toBe(false);

    const log = await waitFor(async () => {
      const d = await deliveries(hook.id);
      return d.length ? d : undefined;
    });
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      webhookId: hook.id,
      eventId: ev.id,
      eventType: 'video.ready',
      attempt: 1,
      status: 'succeeded',
      responseStatus: 200,
      responseBody: 'thanks',
      error: null,
      nextAttemptAt: null,
    });

    // The same event handed to the listeners again is not delivered twice (job id wh.<hook>.<event>).
    await s.ctx.events.dispatch(ev);
    await new Promise((r) => setTimeout(r, 700));
    expect(hits('/ok/signed')).toHaveLength(1);
    expect(await deliveries(hook.id)).toHaveLength(1);
  });

  it('retries a 500 with backoff until a 2xx, logging every attempt', async () => {
    const hook = await createHook('/flaky/1', ['upload.completed'], a);
    const ev = await s.ctx.events.emit(a.id, 'upload.completed', null, { videoId: 'V2' });
    const log = await waitFor(
      async () => {
        const d = await deliveries(hook.id);
        return d.some((x) => x.status === 'succeeded') ? d : undefined;
      },
      20_000,
      'the third attempt',
    );
    expect(hits('/flaky/1')).toHaveLength(3);
    // Newest first.
    expect(log.map((d) => [d.attempt, d.status, d.responseStatus, d.responseBody])).toEqual([
      [3, 'succeeded', 200, 'finally'],
      [2, 'retrying', 500, 'boom 2'],
      [1, 'retrying', 500, 'boom 1'],
    ]);
    for (const d of log) expect(d.eventId).toBe(ev.id);
    expect(log[1]!.error).toBe('the endpoint answered 500');
    expect(typeof log[2]!.nextAttemptAt).toBe('string');
    // The gaps follow the backoff (200 ms, then 400 ms), give or take the queue's polling.
    const times = hits('/flaky/1').map((r) => r.at);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(retryDelay(hooks.retry, 1) - 20);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(retryDelay(hooks.retry, 2) - 20);
    // Every attempt is signed afresh and verifies.
    for (const r of hits('/flaky/1'))
      expect(await verifySignature(hook.secret, r.headers, r.body)).toBe(true);
    const job = await s.ctx.ports.queue.getJob(`wh.${hook.id}.${ev.id}`);
    expect(job).toMatchObject({ state: 'completed', attempts: 3 });
  });

  it('delivers only the event types an endpoint subscribed to, and only its own tenant\u2019s', async () => {
    const hook = await createHook('/ok/subscribed', ['video.deleted'], a);
    const skipped = await s.ctx.events.emit(a.id, 'video.errored', null, { id: 'V3' });
    const otherTenant = await s.ctx.events.emit(b.id, 'video.deleted', null, { id: 'V4' });
    const wanted = await s.ctx.events.emit(a.id, 'video.deleted', null, { id: 'V3' });
    await waitFor(async () => (hits('/ok/subscribed').length ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    const got = hits('/ok/subscribed');
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!.body)).toMatchObject({ id: wanted.id, type: 'video.deleted' });
    // Fan-out happens inside emit: no job was ever made for the others.
    expect(await s.ctx.ports.queue.getJob(`wh.${hook.id}.${skipped.id}`)).toBeUndefined();
    expect(await s.ctx.ports.queue.getJob(`wh.${hook.id}.${otherTenant.id}`)).toBeUndefined();
  });

  it('isolates tenants: another tenant\u2019s endpoint is a 404 everywhere', async () => {
    const hook = await createHook('/ok/isolated', ['video.ready'], a);
    for (const [method, url] of [
      ['GET', `/v1/webhooks/${hook.id}`],
      ['GET', `/v1/webhooks/${hook.id}/deliveries`],
      ['POST', `/v1/webhooks/${hook.id}/test`],
      ['DELETE', `/v1/webhooks/${hook.id}`],
    ] as const) {
      const res = await api(method, url, b);
      expect(res.status, `${method} ${url}`).toBe(404);
      expect(res.json().code).toBe('not_found');
    }
    const listB = await api('GET', '/v1/webhooks?limit=100', b);
    expect(listB.json().data.map((w: { id: string }) => w.id)).not.toContain(hook.id);
    expect((await api('GET', `/v1/webhooks/${hook.id}`, a)).status).toBe(200);
    expect((await api('GET', `/v1/webhooks/${newId()}`, a)).status).toBe(404);
    expect((await api('GET', '/v1/webhooks/not-an-id', a)).status).toBe(404);
  });

  it('refuses unusable URLs and event lists with validation_failed', async () => {
    const cases: Array<[string, RegExp]> = [
      ['http://127.0.0.1:1/', /127\.0\.0\.1 is a loopback address.*VOD_FETCH_ALLOW_HOSTS/],
      ['http://10.0.0.1/', /10\.0\.0\.1 is a private address/],
      ['http://169.254.169.254/latest/meta-data', /cloud metadata/],
      ['http://[::1]:8080/', /loopback/],
      ['http://[::ffff:192.168.1.1]/', /private/],
      [`http://localhost:${port}/ok`, /localhost resolves to .* loopback/],
      ['ftp://x/', /only http:\/\/ and https:\/\//],
      [`http://user:pw@127.0.0.1:${port}/`, /credentials/],
      ['not a url', /not a valid/],
    ];
    for (const [url, message] of cases) {
      const res = await api('POST', '/v1/webhooks', a, { url, events: ['video.ready'] });
      expect(res.status, url).toBe(400);
      const p = res.json();
      expect(p.code).toBe('validation_failed');
      expect(p.errors[0].path).toBe('body.url');
      expect(p.detail, url).toMatch(message);
    }
    for (const events of [[], ['video.nope'], ['video.ready', 'video.ready']]) {
      const res = await api('POST', '/v1/webhooks', a, { url: `${base}/ok/x`, events });
      expect(res.status, JSON.stringify(events)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    const list = await api('GET', '/v1/webhooks?limit=100', a);
    expect(list.body).not.toContain('10.0.0.1');
  });

  it('treats a redirect as a failure and never follows it; gives up after the last attempt', async () => {
    const hook = await createHook('/redirect/1', ['video.errored'], a);
    const ev = await s.ctx.events.emit(a.id, 'video.errored', null, { id: 'V5' });
    const log = await waitFor(
      async () => {
        const d = await deliveries(hook.id);
        return d.some((x) => x.status === 'failed') ? d : undefined;
      },
      20_000,
      'the last attempt',
    );
    expect(log).toHaveLength(hooks.retry.attempts);
    expect(log[0]).toMatchObject({ attempt: hooks.retry.attempts, status: 'failed', nextAttemptAt: null });
    for (const d of log) {
      expect(d.responseStatus).toBe(302);
      expect(d.error).toMatch(/302 \(redirects are not followed\)/);
    }
    expect(hits('/redirect/1')).toHaveLength(hooks.retry.attempts);
    expect(received.filter((r) => r.path.startsWith('/redirect-target'))).toHaveLength(0);
    expect(await s.ctx.ports.queue.getJob(`wh.${hook.id}.${ev.id}`)).toMatchObject({ state: 'failed' });
  });

  it('sends a logged delivery again on demand, as the event\u2019s next attempt, with the same event', async () => {
    const hook = await createHook('/mend/1', ['video.ready'], a);
    const ev = await s.ctx.events.emit(a.id, 'video.ready', null, { id: 'V6' });
    const log = await waitFor(
      async () => {
        const d = await deliveries(hook.id);
        return d.some((x) => x.status === 'failed') ? d : undefined;
      },
      20_000,
      'the last attempt',
    );
    const last = log[0]!;
    mended.add('/mend/1');
    const url = `/v1/webhooks/${hook.id}/deliveries/${last.id}/redeliver`;
    const res = await api('POST', url, a);
    expect(res.status, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      eventId: ev.id,
      eventType: 'video.ready',
      attempt: hooks.retry.attempts + 1,
      status: 'succeeded',
      responseStatus: 200,
      nextAttemptAt: null,
    });
    const sent = hits('/mend/1').at(-1)!;
    expect(JSON.parse(sent.body)).toMatchObject({ id: ev.id, type: 'video.ready', data: { id: 'V6' } });
    expect(await verifySignature(hook.secret, sent.headers, sent.body)).toBe(true);
    expect((await deliveries(hook.id))[0]).toMatchObject({ id: res.json().id, status: 'succeeded' });
    // Another tenant, an unknown delivery, a read-only key: refused.
    expect((await api('POST', url, b)).status).toBe(404);
    const other = `/v1/webhooks/${hook.id}/deliveries/${hook.id}/redeliver`;
    expect((await api('POST', other, a)).status).toBe(404);
    const ro = await s.tenant('hooks-ro', ['read']);
    expect((await api('POST', url, ro)).status).toBe(403);
  });

  it('keeps only the start of a long response body', async () => {
    const hook = await createHook('/fail/long', ['recording.imported'], a);
    await s.ctx.events.emit(a.id, 'recording.imported', null, { id: 'V6' });
    const [d] = await waitFor(async () => {
      const x = await deliveries(hook.id);
      return x.length ? x : undefined;
    });
    expect(d!.responseStatus).toBe(500);
    expect(d!.responseBody).toBe('x'.repeat(2048));
    expect(d!.status).toBe('retrying');
    await api('DELETE', `/v1/webhooks/${hook.id}`, a);
  });

  it('fails a delivery to a forbidden address at once (no retry), with the reason logged', async () => {
    // Created past the API's check, as if the address had changed since: the delivery re-checks it.
    const id = newId();
    await new WebhookRepository(s.ctx.db).insert({
      id,
      tenant_id: a.id,
      url: 'http://10.0.0.1/hook',
      events: JSON.stringify(['video.playable']),
      description: null,
      secret: 'whsec_AAAA',
      created_at: new Date().toISOString(),
      disabled_at: null,
    });
    const ev = await s.ctx.events.emit(a.id, 'video.playable', null, { id: 'V7' });
    const job = await waitFor(async () => {
      const j = await s.ctx.ports.queue.getJob(`wh.${id}.${ev.id}`);
      return j?.state === 'failed' ? j : undefined;
    });
    expect(job.attempts).toBe(1);
    const log = await deliveries(id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ attempt: 1, status: 'failed', responseStatus: null });
    expect(log[0]!.error).toMatch(/10\.0\.0\.1 is a private address/);
    await api('DELETE', `/v1/webhooks/${id}`, a);
  });

  it('counts failed attempts on /metrics by reason: status class, network, timeout', async () => {
    const failures = async () => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^vod_webhook_delivery_failures_total\{reason="(\w+)"\} (\d+)$/gm))
        out[m[1]!] = Number(m[2]);
      return out;
    };
    // A tenant of its own: no other test's endpoint receives these events.
    const c = await s.tenant('hooks-metrics');
    const before = await failures();
    const given = async (url: string) => {
      const res = await api('POST', '/v1/webhooks', c, { url, events: ['video.ready'] });
      expect(res.status, res.body).toBe(201);
      const hook = res.json() as { id: string };
      const ev = await s.ctx.events.emit(c.id, 'video.ready', null, { id: 'V9' });
      await waitFor(
        async () =>
          (await s.ctx.ports.queue.getJob(`wh.${hook.id}.${ev.id}`))?.state === 'failed' ? true : undefined,
        30_000,
        `the last attempt to ${url}`,
      );
      await api('DELETE', `/v1/webhooks/${hook.id}`, c);
    };
    await given(`${base}/status/404`);
    await given(`http://127.0.0.1:${closedPort}/hook`);
    await given(`${base}/hang/1`);
    const after = await failures();
    const delta = (reason: string) => (after[reason] ?? 0) - (before[reason] ?? 0);
    // Every attempt of each (nothing else in this suite answers 4xx, refuses a connection or hangs).
    expect([delta('4xx'), delta('network'), delta('timeout')]).toEqual([
      hooks.retry.attempts,
      hooks.retry.attempts,
      hooks.retry.attempts,
    ]);
  });

  it('ends a deleted endpoint\u2019s pending deliveries quietly', async () => {
    const hook = await createHook('/fail/deleted', ['video.ready'], a);
    const ev = await s.ctx.events.emit(a.id, 'video.ready', null, { id: 'V8' });
    await waitFor(async () => (hits('/fail/deleted').length ? true : undefined));
    const del = await api('DELETE', `/v1/webhooks/${hook.id}`, a);
    expect(del.status).toBe(204);
    expect(del.body).toBe('');
    const job = await waitFor(async () => {
      const j = await s.ctx.ports.queue.getJob(`wh.${hook.id}.${ev.id}`);
      return j?.state === 'completed' || j?.state === 'failed' ? j : undefined;
    });
    expect(job.state).toBe('completed');
    expect(job.result).toEqual({ skipped: 'webhook deleted' });
    expect(hits('/fail/deleted')).toHaveLength(1);
    expect((await api('GET', `/v1/webhooks/${hook.id}`, a)).status).toBe(404);
    expect((await api('GET', `/v1/webhooks/${hook.id}/deliveries`, a)).status).toBe(404);
    expect((await api('DELETE', `/v1/webhooks/${hook.id}`, a)).status).toBe(404);
    // No new event reaches it.
    await s.ctx.events.emit(a.id, 'video.ready', null, { id: 'V9' });
    await new Promise((r) => setTimeout(r, 500));
    expect(hits('/fail/deleted')).toHaveLength(1);
  });

  it('sends a signed webhook.test ping on demand and logs it', async () => {
    const hook = await createHook('/ok/ping', ['video.ready'], a);
    const res = await api('POST', `/v1/webhooks/${hook.id}/test`, a);
    expect(res.status, res.body).toBe(200);
    expect(res.json()).toMatchObject({ eventType: 'webhook.test', status: 'succeeded', responseStatus: 200 });
    const [got] = hits('/ok/ping');
    expect(JSON.parse(got!.body)).toMatchObject({ type: 'webhook.test', data: { webhookId: hook.id } });
    expect(await verifySignature(hook.secret, got!.headers, got!.body)).toBe(true);
    expect((await deliveries(hook.id))[0]).toMatchObject({ eventType: 'webhook.test', status: 'succeeded' });
  });

  it('lists endpoints and deliveries with cursors, newest first', async () => {
    const c = await s.tenant('hooks-c');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createHook(`/ok/page${i}`, ['video.ready'], c)).id);
    const p1 = (await api('GET', '/v1/webhooks?limit=2', c)).json();
    expect(p1.data.map((w: { id: string }) => w.id)).toEqual([ids[2], ids[1]]);
    expect(p1.nextCursor).toEqual(expect.any(String));
    const p2 = (await api('GET', `/v1/webhooks?limit=2&cursor=${p1.nextCursor}`, c)).json();
    expect(p2).toEqual({ data: [expect.objectContaining({ id: ids[0] })], nextCursor: null });

    for (let i = 0; i < 3; i++) await api('POST', `/v1/webhooks/${ids[0]}/test`, c);
    const d1 = (await api('GET', `/v1/webhooks/${ids[0]}/deliveries?limit=2`, c)).json();
    expect(d1.data).toHaveLength(2);
    const d2 = (
      await api('GET', `/v1/webhooks/${ids[0]}/deliveries?limit=2&cursor=${d1.nextCursor}`, c)
    ).json();
    expect(d2.data).toHaveLength(1);
    expect(d2.nextCursor).toBeNull();
    const all = [...d1.data, ...d2.data].map((d: { id: string }) => d.id);
    expect(all).toEqual([...all].sort().reverse());
  });

  it('needs the write scope to create', async () => {
    const ro = await s.tenant('hooks-ro', ['read']);
    const res = await api('POST', '/v1/webhooks', ro, { url: `${base}/ok/ro`, events: ['video.ready'] });
    expect(res.status).toBe(403);
    expect((await api('GET', '/v1/webhooks', ro)).status).toBe(200);
  });
});

describe('signing and the POST (sender.ts)', () => {
  // The published Standard Webhooks test vector (the reference libraries' tests use it).
  const vector = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    body: '{"test": 2432232314}',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };

  it('reproduces the Standard Webhooks test vector, which the independent verifier accepts', async () => {
    expect(sign(vector.secret, vector.id, vector.timestamp, vector.body)).toBe(vector.signature);
    const headers = {
      'webhook-id': vector.id,
      'webhook-timestamp': String(vector.timestamp),
      'webhook-signature': `v1,bm9wZQ== ${vector.signature}`,
    };
    expect(await verifySignature(vector.secret, headers, vector.body, 300, vector.timestamp)).toBe(true);
    // ...and refuses it when stale (replay) or altered.
    expect(await verifySignature(vector.secret, headers, vector.body)).toBe(false);
    expect(await verifySignature(vector.secret, headers, `${vector.body} `, 300, vector.timestamp)).toBe(
      false,
    );
  });

  let server: http.Server;
  let origin = '';
  let connections = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      if (req.url === '/hang') return; // never answers
      if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(16 * 1024, 'y');
        const pump = () => {
          while (res.write(chunk)) if (res.destroyed) return;
          res.once('drain', pump);
        };
        res.on('error', () => undefined);
        pump();
        return;
      }
      res.writeHead(204);
      res.end();
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    origin = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  const post = (path: string, extra: Partial<Parameters<typeof postWebhook>[0]> = {}) =>
    postWebhook({
      url: `http://${origin}${path}`,
      body: '{}',
      headers: {},
      allowHosts: [origin],
      timeoutMs: 5_000,
      ...extra,
    });

  it('times out an endpoint that does not answer', async () => {
    const started = Date.now();
    await expect(post('/hang', { timeoutMs: 300 })).rejects.toMatchObject({
      name: 'DeliveryError',
      code: 'timeout',
    });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('stops reading an endless response after 64 KiB and keeps 2 KiB of it', async () => {
    const r = await post('/endless');
    expect(r.status).toBe(200);
    expect(r.body).toBe('y'.repeat(MAX_RESPONSE_KEPT));
    expect(MAX_RESPONSE_READ).toBe(64 * 1024);
  });

  it('refuses a host whose DNS answer is private, before connecting', async () => {
    const before = connections;
    const port = origin.split(':')[1];
    await expect(
      post('/', {
        url: `http://rebind.example:${port}/`,
        lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      }),
    ).rejects.toMatchObject({
      code: 'forbidden_address',
      message: expect.stringMatching(/rebind\.example resolves to 127\.0\.0\.1/),
    });
    await expect(post('/', { allowHosts: [] })).rejects.toMatchObject({ code: 'forbidden_address' });
    expect(connections).toBe(before);
    // Allow-listed, the same request goes through.
    expect((await post('/')).status).toBe(204);
  });
});
