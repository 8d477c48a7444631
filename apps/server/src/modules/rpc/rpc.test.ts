import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serve } from '../../../../../test/support/cli';
import { engineUrl } from '../../../../../test/support/engines';
import { errorHandler } from '../../http/problem';
import { AppError } from '../../lib/errors';
import { createRegistry, type Registry } from '../../ports/registry';
import { mediaService } from './contracts';
import { defineService } from './define';
import { Rpc, RpcError } from './rpc';
import { CallStats } from './stats';

const log = pino({ level: 'silent' });
const secret = randomBytes(32).toString('hex');
const run = randomBytes(4).toString('hex');

const echo = defineService({
  name: 'echo',
  strategy: 'round_robin',
  methods: {
    say: {
      input: z.object({ text: z.string() }),
      output: z.object({ text: z.string(), by: z.string(), requestId: z.string() }),
      idempotent: true,
      timeoutMs: 5_000,
    },
    wait: {
      input: z.object({ ms: z.number() }),
      output: z.object({ aborted: z.boolean() }),
      idempotent: true,
      timeoutMs: 5_000,
    },
    missing: { input: z.object({}), output: z.object({}), idempotent: true, timeoutMs: 5_000 },
    add: {
      input: z.object({ n: z.number() }),
      output: z.object({ total: z.number() }),
      idempotent: false,
      timeoutMs: 5_000,
    },
  },
});

interface Provider {
  id: string;
  app: FastifyInstance;
  rpc: Rpc;
  calls: number;
  aborted: number;
  url: string;
  stop(): Promise<void>;
}

async function startProvider(
  registry: Registry,
  id: string,
  opts: { weight?: number; failAdd?: boolean } = {},
) {
  const stats = new CallStats();
  const rpc = new Rpc({ registry, secret, log, stats });
  const p = { id, calls: 0, aborted: 0, stats } as Provider & { stats: CallStats };
  rpc.provide(echo, {
    async say({ text }, ctx) {
      p.calls++;
      return { text, by: id, requestId: ctx.requestId };
    },
    async wait({ ms }, ctx) {
      p.calls++;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          p.aborted++;
          resolve();
        });
      });
      return { aborted: ctx.signal.aborted };
    },
    async missing() {
      p.calls++;
      throw new AppError('not_found', 'no such thing');
    },
    async add({ n }) {
      p.calls++;
      if (opts.failAdd) throw new Error('boom');
      return { total: n };
    },
  });
  const app = Fastify({ logger: false, requestIdHeader: 'x-request-id' });
  app.setErrorHandler(errorHandler);
  rpc.routes(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  const handle = await registry.register('rpc-echo', {
    id,
    host: '127.0.0.1',
    port,
    weight: opts.weight ?? 1,
    metadata: { url },
  });
  Object.assign(p, {
    app,
    rpc,
    url,
    async stop() {
      await handle.unregister();
      await app.close();
      await rpc.close();
    },
  });
  return p;
}

describe('RPC over HTTP between providers found in the registry', async () => {
  const registry = await createRegistry(`local://rpc-${run}`);
  const consumerStats = new CallStats();
  const consumer = new Rpc({
    registry,
    secret,
    log,
    stats: consumerStats,
    breaker: { threshold: 2, openMs: 60_000 },
  });
  const client = consumer.client(echo);
  const a = await startProvider(registry, 'a');
  const b = await startProvider(registry, 'b');
  afterAll(async () => {
    await consumer.close();
    await a.stop().catch(() => undefined);
    await b.stop().catch(() => undefined);
    await registry.close();
  });

  it('calls providers in turn, typed, with the request id carried', async () => {
    const out = [];
    for (let i = 0; i < 10; i++) out.push(await client.say({ text: `hi ${i}` }, { requestId: `req-${i}` }));
    expect(out.map((o) => o.text)).toEqual(Array.from({ length: 10 }, (_, i) => `hi ${i}`));
    expect(out.map((o) => o.requestId)).toEqual(Array.from({ length: 10 }, (_, i) => `req-${i}`));
    expect(out.filter((o) => o.by === 'a')).toHaveLength(5);
    expect(out.filter((o) => o.by === 'b')).toHaveLength(5);
  });

  it('maps provider errors to the platform codes and does not retry them', async () => {
    const before = a.calls + b.calls;
    const err = await client.missing({}).catch((e) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe('not_found');
    expect(err.message).toBe('no such thing');
    expect(a.calls + b.calls - before).toBe(1);
    const bad = await consumer.call(echo, 'say', { text: 5 }).catch((e) => e);
    expect(bad.code).toBe('validation_failed'); // checked before sending
  });

  it('propagates the deadline: the provider sees its signal aborted, the caller gets a deadline error', async () => {
    const before = a.aborted + b.aborted;
    const t0 = Date.now();
    const err = await client.wait({ ms: 3_000 }, { timeoutMs: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err.message).toMatch(/deadline/);
    expect(Date.now() - t0).toBeLessThan(1_500);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.aborted + b.aborted - before).toBe(1);
  });

  it('refuses calls without the cluster key', async () => {
    const res = await fetch(`${a.url}/internal/rpc/echo/say`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-vod-rpc-key': 'wrong' },
      body: JSON.stringify({ text: 'x' }),
    });
    expect(res.status).toBe(401);
  });

  it('does not fail a non-idempotent call over to another instance', async () => {
    const bad = await startProvider(registry, 'c-failing', { failAdd: true });
    try {
      await new Promise((r) => setTimeout(r, 50));
      const before = a.calls + b.calls + bad.calls;
      let failures = 0;
      for (let i = 0; i < 6; i++) await client.add({ n: i }).catch(() => failures++);
      // round robin over three: two calls hit the failing one, and each failed once, without a retry.
      expect(failures).toBe(2);
      expect(a.calls + b.calls + bad.calls - before).toBe(6);
    } finally {
      await bad.stop();
    }
  });

  it('avoids instances the sentinel marks unhealthy', async () => {
    const s = await registry.register('vod-sentinel', {
      id: 'sentinel',
      host: '127.0.0.1',
      port: 1,
      metadata: { unhealthy: ['a'] },
    });
    await new Promise((r) => setTimeout(r, 600)); // the consumer re-reads the sentinel's view every 500 ms
    try {
      const by = new Set<string>();
      for (let i = 0; i < 20; i++) by.add((await client.say({ text: 'x' })).by);
      expect([...by]).toEqual(['b']);
    } finally {
      await s.unregister();
      await new Promise((r) => setTimeout(r, 600));
    }
  });

  it('fails over when a provider dies (connection refused) and opens its circuit', async () => {
    const c = await startProvider(registry, 'c');
    await new Promise((r) => setTimeout(r, 50));
    // Close c's HTTP server but leave it registered: the consumer still sees it, as after a crash.
    await c.app.close();
    let failures = 0;
    for (let i = 0; i < 30; i++) await client.say({ text: 'x' }).catch(() => failures++);
    expect(failures).toBe(0);
    expect(consumer.breaker.state('c')).toBe('open');
    await c.stop().catch(() => undefined);
  });

  it('counts calls on both sides', async () => {
    consumerStats.drain('n', []);
    (a as unknown as { stats: CallStats }).stats.drain('a', []);
    (b as unknown as { stats: CallStats }).stats.drain('b', []);
    for (let i = 0; i < 25; i++) await client.say({ text: 'x' });
    await client.missing({}).catch(() => undefined);
    const c = consumerStats.drain('n', [])!;
    const say = c.entries.find((e) => e.method === 'say' && e.side === 'consumer')!;
    expect(say.calls).toBe(25);
    expect(say.errors).toBe(0);
    expect(say.buckets.reduce((x, y) => x + y, 0)).toBe(25);
    expect(c.entries.find((e) => e.method === 'missing')).toMatchObject({ calls: 1, errors: 1 });
    const served = ['a', 'b']
      .map((id) => (id === 'a' ? a : b) as unknown as { stats: CallStats })
      .map((p) => p.stats.drain('p', [])?.entries.find((e) => e.method === 'say')?.calls ?? 0);
    expect(served[0]! + served[1]!).toBe(25);
  });

  it('calls a provider in the same process directly', async () => {
    const local = new Rpc({ registry, secret, log, stats: null });
    let direct = 0;
    local.provide(echo, {
      async say({ text }, ctx) {
        direct++;
        return { text, by: 'local', requestId: ctx.requestId };
      },
      async wait() {
        return { aborted: false };
      },
      async missing() {
        return {};
      },
      async add({ n }) {
        return { total: n };
      },
    });
    const before = a.calls + b.calls;
    const out = await local.client(echo).say({ text: 'here' });
    expect(out.by).toBe('local');
    expect(direct).toBe(1);
    expect(a.calls + b.calls).toBe(before);
    await local.close();
  });
});

const zkUrl = engineUrl('zookeeper', 'rpc: failover across processes on ZooKeeper');
describe.skipIf(!zkUrl)('RPC between real worker processes registered in ZooKeeper', () => {
  const base = zkUrl ?? 'zookeeper://unused:0';
  const url = `${base.replace(/\/$/, '')}/vodcloud-rpc-${run}?sessionTimeoutMs=3000`;
  const dirs: string[] = [];
  const children: Array<Awaited<ReturnType<typeof serve>>> = [];
  afterAll(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('1,000 idempotent calls while one of two providers is SIGKILLed: none fails; the dead one leaves within the session timeout', async () => {
    for (let i = 0; i < 2; i++) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'vod-rpc-'));
      dirs.push(dir);
      children.push(
        await serve(
          ['--roles', 'worker', '--port', '0'],
          {
            VOD_DATA_DIR: dir,
            VOD_REGISTRY_URL: url,
            VOD_SECRET: secret,
            VOD_LOG_LEVEL: 'warn',
            VOD_HOST: '127.0.0.1',
          },
          60_000,
        ),
      );
    }
    const registry = await createRegistry(url);
    const consumer = new Rpc({ registry, secret, log, stats: null, strategies: { media: 'round_robin' } });
    const media = consumer.client(mediaService);
    try {
      const deadline = Date.now() + 20_000;
      while (consumer.instances('media').length < 2 && Date.now() < deadline) {
        await media.capabilities({}).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(consumer.instances('media')).toHaveLength(2);
      const victim = children[0]!;
      const victimId = (await Promise.all([media.capabilities({}), media.capabilities({})]))
        .map((c) => c.node)
        .find((n) => n.includes(String(victim.child.pid)))!;
      expect(victimId).toBeTruthy();
      let failures = 0;
      let done = 0;
      const by = new Map<string, number>();
      let killedAt = 0;
      let goneAfterMs = -1;
      const watch = setInterval(() => {
        if (killedAt && goneAfterMs < 0 && !consumer.instances('media').some((i) => i.id === victimId))
          goneAfterMs = Date.now() - killedAt;
      }, 20);
      const worker = async () => {
        while (done < 1000) {
          done++;
          if (done === 300) {
            victim.child.kill('SIGKILL');
            killedAt = Date.now();
          }
          try {
            const c = await media.capabilities({});
            by.set(c.node, (by.get(c.node) ?? 0) + 1);
          } catch {
            failures++;
          }
          // Spread the calls over the session timeout so some are made after the kill and before the expiry.
          await new Promise((r) => setTimeout(r, 4));
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      const until = Date.now() + 10_000;
      while (goneAfterMs < 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      clearInterval(watch);
      console.log(
        `rpc failover: 1000 calls, ${failures} failed, per instance ${JSON.stringify(Object.fromEntries(by))}, dead instance left the list ${goneAfterMs} ms after SIGKILL`,
      );
      expect(failures).toBe(0);
      expect([...by.values()].reduce((x, y) => x + y, 0)).toBe(1000);
      expect(by.get(victimId)).toBeGreaterThan(50); // it did serve before dying
      expect(goneAfterMs).toBeGreaterThan(0);
      expect(goneAfterMs).toBeLessThan(3000 + 3000); // session timeout plus ZooKeeper's expiry check

      // ZooKeeper stopped: calls go on with the last known list; restarted: the provider re-registers.
      const servers = base.replace(/^zookeeper:\/\//, '').split('/')[0]!;
      if (/^(127\.0\.0\.1|localhost):\d+$/.test(servers)) {
        const sh = promisify(execFile);
        const root = fileURLToPath(new URL('../../../../../', import.meta.url));
        const zkEnv = { ...process.env, ZK_PORT: servers.split(':')[1]!, ZK_KEEP_DATA: '1' };
        await sh('bash', [`${root}scripts/zk-down.sh`], { env: zkEnv });
        try {
          let outageFailures = 0;
          for (let i = 0; i < 100; i++) await media.capabilities({}).catch(() => outageFailures++);
          expect(outageFailures).toBe(0);
          expect(consumer.instances('media')).toHaveLength(1);
        } finally {
          await sh('bash', [`${root}scripts/zk-up.sh`], { env: zkEnv });
        }
        const back = Date.now();
        const probe = await createRegistry(url);
        try {
          while (probe.list('rpc-media').length < 1 && Date.now() - back < 20_000)
            await new Promise((r) => setTimeout(r, 50));
          expect(probe.list('rpc-media').map((i) => i.id)).toEqual(
            consumer.instances('media').map((i) => i.id),
          );
          console.log(
            `rpc: after a ZooKeeper restart the provider is listed again in ${Date.now() - back} ms`,
          );
        } finally {
          await probe.close();
        }
        expect((await media.capabilities({})).node).toBe(consumer.instances('media')[0]!.id);
      }
    } finally {
      await consumer.close();
      await registry.close();
    }
  }, 120_000);
});
