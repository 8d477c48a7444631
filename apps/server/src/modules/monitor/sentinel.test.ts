import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../../../../../test/support/app';
import { databaseEngines } from '../../../../../test/support/databases';
import { engineUrl } from '../../../../../test/support/engines';
import { waitFor } from '../../../../../test/support/uploads';
import { createKysely } from '../../db/connect';
import { replicaLag } from '../../db/replica-lag';
import { Jobs } from '../../jobs';
import { BUCKETS_MS } from '../../lib/call-stats';
import { createRegistry, parseZooKeeperUrl } from '../../ports/registry';
import { SENTINEL_SERVICE, unhealthyInstances } from '../cluster';
import type { AlertEvent } from './alerts';
import { evaluateReplica } from './rules';
import { Sentinel } from './sentinel';

const silent = pino({ level: 'silent' });

/** A port nothing listens on: connections are refused. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** A plain HTTP server that records the JSON bodies posted to it. */
async function webhookReceiver(): Promise<{ url: string; events: AlertEvent[]; server: Server }> {
  const events: AlertEvent[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (req.method === 'POST' && req.headers['content-type'] === 'application/json')
        events.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, events, server };
}

function sentinelFor(t: TestApp, url: string, id = 'sentinel-1') {
  return new Sentinel({
    registry: t.ctx.ports.registry,
    monitor: t.ctx.monitor,
    queue: t.ctx.ports.queue,
    db: t.ctx.db,
    log: silent,
    metrics: t.ctx.metrics.registry,
    self: { id, url, version: 'test' },
    dataDir: t.ctx.config.dataDir,
    intervalMs: 60_000,
    thresholds: { ...t.ctx.config.alerts },
    dbReplicaUrl: t.ctx.config.dbReplicaUrl,
    dbTimeoutMs: 1000,
  });
}

const open = async (t: TestApp, rule: string) =>
  (await t.ctx.monitor.alerts.list('open', 100)).filter((a) => a.rule === rule).map((a) => a.subject);

describe('sentinel with a real server and the local registry', () => {
  let t: TestApp;
  let appUrl: string;
  let hooks: Awaited<ReturnType<typeof webhookReceiver>>;
  let sentinel: Sentinel;
  let deadUrl: string;

  beforeAll(async () => {
    hooks = await webhookReceiver();
    t = await startTestApp({
      VOD_REGISTRY_URL: `local://sentinel-${Date.now()}`,
      VOD_ALERT_REQUIRED_SERVICES: '',
      VOD_ALERT_WEBHOOK_URLS: hooks.url,
      VOD_ALERT_QUEUE_WAITING: '3',
      VOD_ALERT_RPC_MIN_CALLS: '10',
      VOD_ALERT_RPC_ERROR_RATE_PERCENT: '5',
      VOD_ALERT_RPC_P95_MS: '1000',
      VOD_ALERT_RPC_WINDOW_MINUTES: '5',
      VOD_ALERT_DISK_FREE_PERCENT: '0',
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    appUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    deadUrl = `http://127.0.0.1:${await closedPort()}`;
    sentinel = sentinelFor(t, appUrl);
  });
  afterAll(async () => {
    await sentinel?.stop();
    await t?.close();
    await new Promise((r) => hooks?.server.close(r));
  });

  it('marks an instance that refuses connections unhealthy after 2 probes and alerts while it is the only one', async () => {
    const registry = t.ctx.ports.registry;
    const dead = await registry.register('vod-fake', {
      id: 'dead-1',
      host: '127.0.0.1',
      port: Number(new URL(deadUrl).port),
      metadata: { url: deadUrl },
    });
    let sentinelUpdates = 0;
    const unsubscribe = registry.subscribe(SENTINEL_SERVICE, () => {
      sentinelUpdates++;
    });
    try {
      await sentinel.tick();
      // One failure is not enough to call it unhealthy.
      expect(sentinel.healthOf('dead-1').ok).toBeNull();
      expect(unhealthyInstances(registry).has('dead-1')).toBe(false);
      await sentinel.tick();
      expect(sentinel.healthOf('dead-1')).toMatchObject({ ok: false, detail: 'ECONNREFUSED' });
      expect([...unhealthyInstances(registry)]).toEqual(['dead-1']);
      const [published] = registry.list(SENTINEL_SERVICE);
      expect(published).toMatchObject({
        id: 'sentinel-1',
        metadata: { unhealthy: ['dead-1'], health: { 'dead-1': { ok: false, detail: 'ECONNREFUSED' } } },
      });
      expect(await open(t, 'no_healthy_provider')).toEqual(['vod-fake']);
      const metrics = await t.ctx.metrics.registry.metrics();
      expect(metrics).toContain('vod_instance_healthy{service="vod-fake",instance="dead-1"} 0');
      expect(metrics).toMatch(/^vod_alerts_open 1$/m);

      // Nothing changed: the view is not written again.
      const before = sentinelUpdates;
      await sentinel.tick();
      expect(sentinelUpdates).toBe(before);

      // A healthy provider joins: it is healthy after one probe and the alert resolves.
      const live = await registry.register('vod-fake', {
        id: 'live-1',
        host: '127.0.0.1',
        port: Number(new URL(appUrl).port),
        metadata: { url: appUrl },
      });
      await sentinel.tick();
      expect(sentinel.healthOf('live-1')).toMatchObject({ ok: true, detail: 'HTTP 200' });
      expect(sentinelUpdates).toBeGreaterThan(before);
      expect(await open(t, 'no_healthy_provider')).toEqual([]);
      expect(await t.ctx.metrics.registry.metrics()).toMatch(/^vod_alerts_open 0$/m);
      expect(await t.ctx.metrics.registry.metrics()).toContain(
        'vod_instance_healthy{service="vod-fake",instance="live-1"} 1',
      );

      // The webhook got both transitions, with the alert as stored.
      const events = await waitFor(
        async () => (hooks.events.length >= 2 ? hooks.events : undefined),
        5000,
        'webhooks',
      );
      expect(events.map((e) => [e.type, e.alert.rule, e.alert.subject, e.alert.state])).toEqual([
        ['alert.opened', 'no_healthy_provider', 'vod-fake', 'open'],
        ['alert.resolved', 'no_healthy_provider', 'vod-fake', 'resolved'],
      ]);
      expect(events[1]!.alert.id).toBe(events[0]!.alert.id);
      expect(events[0]!.alert).toMatchObject({
        severity: 'critical',
        resolvedAt: null,
        value: 0,
        threshold: 1,
      });
      expect(events[0]!.alert.message).toContain('dead-1');
      expect(events[1]!.alert.resolvedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

      // Both gone: the service was seen, so no instance at all is an alert too.
      await live.unregister();
      await dead.unregister();
      await sentinel.tick();
      const [alert] = (await t.ctx.monitor.alerts.list('open', 10)).filter(
        (a) => a.rule === 'no_healthy_provider',
      );
      expect(alert).toMatchObject({ subject: 'vod-fake', message: 'vod-fake has no instance registered' });
      expect(unhealthyInstances(registry).size).toBe(0);
    } finally {
      unsubscribe();
      await registry.register('vod-fake', {
        id: 'live-2',
        host: '127.0.0.1',
        port: 1,
        metadata: { url: appUrl },
      });
      await sentinel.tick();
    }
    expect(await open(t, 'no_healthy_provider')).toEqual([]);
  });

  it('opens a queue backlog alert past the threshold and resolves it once the jobs are cancelled', async () => {
    const queue = t.ctx.ports.queue;
    queue.define('monitor.test', {
      queue: 'fast',
      schema: z.object({ n: z.number() }),
      handler: () => undefined,
    });
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push(await queue.enqueue('monitor.test', { n }));
    await sentinel.tick();
    expect(await open(t, 'queue_backlog')).toEqual([]); // 3 is not above 3
    ids.push(await queue.enqueue('monitor.test', { n: 3 }));
    await sentinel.tick();
    expect(await open(t, 'queue_backlog')).toEqual(['monitor.test']);
    const [alert] = (await t.ctx.monitor.alerts.list('open', 10)).filter((a) => a.rule === 'queue_backlog');
    expect(alert).toMatchObject({ value: 4, threshold: 3 });
    // The oldest waiting job is measured on the db queue: 1 h later it has waited too long.
    await sentinel.tick(Date.now() + 3_600_000);
    expect(await open(t, 'queue_wait')).toEqual(['monitor.test']);
    for (const id of ids) expect(await queue.cancel(id)).toBe(true);
    await sentinel.tick();
    expect(await open(t, 'queue_backlog')).toEqual([]);
    expect(await open(t, 'queue_wait')).toEqual([]);
    await waitFor(
      async () =>
        hooks.events.some((e) => e.type === 'alert.resolved' && e.alert.rule === 'queue_backlog')
          ? true
          : undefined,
      5000,
      'the queue_backlog resolved webhook',
    );
  });

  it('raises error-rate and p95 alerts from ingested call statistics', async () => {
    const slowBuckets = new Array(BUCKETS_MS.length + 1).fill(0);
    slowBuckets[3] = 80; // ≤10 ms
    slowBuckets[11] = 20; // ≤5000 ms: the 95th call is slow
    const now = Date.now();
    await t.ctx.monitor.ingest({
      node: 'node-x',
      roles: ['api'],
      from: new Date(now - 10_000).toISOString(),
      to: new Date(now).toISOString(),
      entries: [
        // Callers saw 10 of 100 fail...
        {
          service: 'vod-worker',
          method: 'media.probe',
          side: 'consumer',
          calls: 100,
          errors: 10,
          sumMs: 5000,
          maxMs: 4000,
          buckets: slowBuckets,
        },
        // ...while the provider saw none (the consumer side is what counts).
        {
          service: 'vod-worker',
          method: 'media.probe',
          side: 'provider',
          calls: 90,
          errors: 0,
          sumMs: 900,
          maxMs: 10,
          buckets: [0, 0, 0, 90, ...new Array(BUCKETS_MS.length - 3).fill(0)],
        },
        // Too few calls to judge.
        {
          service: 'vod-worker',
          method: 'media.rare',
          side: 'consumer',
          calls: 5,
          errors: 5,
          sumMs: 5,
          maxMs: 1,
          buckets: [5, ...new Array(BUCKETS_MS.length).fill(0)],
        },
      ],
    });
    await sentinel.tick(now);
    const alerts = await t.ctx.monitor.alerts.list('open', 100);
    expect(
      alerts.filter((a) => a.rule === 'rpc_error_rate').map((a) => [a.subject, a.value, a.threshold]),
    ).toEqual([['vod-worker/media.probe', 10, 5]]);
    expect(alerts.filter((a) => a.rule === 'rpc_p95').map((a) => [a.subject, a.value, a.threshold])).toEqual([
      ['vod-worker/media.probe', 4000, 1000],
    ]);
    // Past the window the calls no longer count: both resolve.
    await sentinel.tick(now + 6 * 60_000);
    expect(await open(t, 'rpc_error_rate')).toEqual([]);
    expect(await open(t, 'rpc_p95')).toEqual([]);
  });

  it('serves the cluster, alerts and monitor to the admin key only', async () => {
    const admin = { authorization: `Bearer ${t.adminKey}` };
    const tenant = await t.tenant('mon');
    for (const url of ['/v1/admin/cluster', '/v1/admin/alerts', '/v1/admin/monitor']) {
      const r = await t.app.inject({ method: 'GET', url, headers: tenant.auth });
      expect(r.statusCode, url).toBe(403);
      expect(r.headers['content-type']).toContain('application/problem+json');
      expect(r.json().code).toBe('forbidden');
      expect((await t.app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
    }

    const cluster = await t.app.inject({ method: 'GET', url: '/v1/admin/cluster', headers: admin });
    expect(cluster.statusCode).toBe(200);
    const body = cluster.json();
    expect(body.sentinels).toBe(1);
    const fake = body.services.find((s: { name: string }) => s.name === 'vod-fake');
    expect(fake.instances).toEqual([
      {
        id: 'live-2',
        address: '127.0.0.1:1',
        url: appUrl,
        roles: [],
        version: null,
        startedAt: expect.stringMatching(/^\d{4}-/),
        uptimeSec: expect.any(Number),
        load: 0,
        weight: 1,
        health: { status: 'healthy', checkedAt: expect.stringMatching(/^\d{4}-/), detail: 'HTTP 200' },
      },
    ]);
    const sentinels = body.services.find((s: { name: string }) => s.name === SENTINEL_SERVICE);
    expect(sentinels.instances[0]).toMatchObject({ id: 'sentinel-1', roles: ['monitor'], version: 'test' });

    // An instance no sentinel has probed yet is unknown.
    const extra = await t.ctx.ports.registry.register('vod-other', { id: 'new-1', host: 'h', port: 2 });
    const c2 = (await t.app.inject({ method: 'GET', url: '/v1/admin/cluster', headers: admin })).json();
    expect(c2.services.find((s: { name: string }) => s.name === 'vod-other').instances[0].health).toEqual({
      status: 'unknown',
      checkedAt: null,
      detail: null,
    });
    await extra.unregister();

    // Jobs pending per name, with their resource class: a job due in an hour is delayed.
    const jobs = new Jobs(t.ctx.ports.queue);
    const id = await jobs.enqueue(
      'uploads.sweep',
      { at: new Date().toISOString() },
      { jobId: 'mon-depth', delayMs: 3_600_000 },
    );
    const c3 = (await t.app.inject({ method: 'GET', url: '/v1/admin/cluster', headers: admin })).json();
    expect(c3.queues).toContainEqual({
      name: 'uploads.sweep',
      queue: 'fast',
      waiting: 0,
      delayed: 1,
      active: 0,
    });
    await jobs.cancel(id);
    const c4 = (await t.app.inject({ method: 'GET', url: '/v1/admin/cluster', headers: admin })).json();
    expect(c4.queues.find((q: { name: string }) => q.name === 'uploads.sweep')?.delayed ?? 0).toBe(0);

    const openAlerts = await t.app.inject({
      method: 'GET',
      url: '/v1/admin/alerts?state=open',
      headers: admin,
    });
    expect(openAlerts.statusCode).toBe(200);
    expect(openAlerts.json()).toEqual({ data: [], nextCursor: null });
    const resolved = await t.app.inject({
      method: 'GET',
      url: '/v1/admin/alerts?state=resolved&limit=2',
      headers: admin,
    });
    const page1 = resolved.json();
    expect(page1.data).toHaveLength(2);
    expect(page1.data[0]).toMatchObject({
      state: 'resolved',
      rule: expect.any(String),
      openedAt: expect.any(String),
    });
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = (
      await t.app.inject({
        method: 'GET',
        url: `/v1/admin/alerts?state=resolved&limit=100&cursor=${page1.nextCursor}`,
        headers: admin,
      })
    ).json();
    const allIds = [...page1.data, ...page2.data].map((a: { id: string }) => a.id);
    expect(new Set(allIds).size).toBe(allIds.length);
    expect(allIds).toEqual([...allIds].sort().reverse());
    const bad = await t.app.inject({ method: 'GET', url: '/v1/admin/alerts?state=maybe', headers: admin });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('validation_failed');

    const stats = await t.app.inject({
      method: 'GET',
      url: '/v1/admin/monitor?service=vod-worker&side=consumer',
      headers: admin,
    });
    expect(stats.statusCode).toBe(200);
    const s = stats.json();
    expect(s.series.map((x: { method: string }) => x.method)).toEqual(['media.probe', 'media.rare']);
    expect(s.series[0].points).toHaveLength(1);
    expect(s.series[0].totals).toEqual({ calls: 100, errors: 10, meanMs: 50, p95Ms: 4000, maxMs: 4000 });
    expect(s.totals.calls).toBe(105);
    expect(Date.parse(s.to) - Date.parse(s.from)).toBeGreaterThanOrEqual(60 * 60_000);
    const backwards = await t.app.inject({
      method: 'GET',
      url: '/v1/admin/monitor?from=2026-11-24T10:00:00Z&to=2026-11-24T09:00:00Z',
      headers: admin,
    });
    expect(backwards.statusCode).toBe(400);
    const badSide = await t.app.inject({ method: 'GET', url: '/v1/admin/monitor?side=both', headers: admin });
    expect(badSide.statusCode).toBe(400);

    const openapi = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const p of ['/v1/admin/cluster', '/v1/admin/monitor', '/v1/admin/alerts'])
      expect(openapi.paths[p]?.get).toBeDefined();
  });
});

describe('sentinel node rules', () => {
  let t: TestApp;
  let sentinel: Sentinel | undefined;
  afterAll(async () => {
    await sentinel?.stop();
    await t?.close();
  });
  beforeAll(async () => {
    t = await startTestApp({
      VOD_REGISTRY_URL: `local://sentinel-node-${Date.now()}`,
      VOD_ALERT_REQUIRED_SERVICES: 'vod-api',
      // A replica that refuses connections.
      VOD_DB_REPLICA_URL: `postgres://vod:x@127.0.0.1:${await closedPort()}/vod`,
    });
  });

  it('alerts on low disk space, a required service without instances and a replica that is down', async () => {
    sentinel = sentinelFor(t, 'http://127.0.0.1:9', 'sentinel-disk');
    const thresholds = (sentinel as unknown as { o: { thresholds: { diskFreePercent: number } } }).o
      .thresholds;
    thresholds.diskFreePercent = 100; // below 100% free: any real disk
    await sentinel.tick();
    const alerts = await t.ctx.monitor.alerts.list('open', 10);
    const by = (rule: string) => alerts.filter((a) => a.rule === rule);
    expect(by('disk_free').map((a) => a.subject)).toEqual([`sentinel-disk:${t.ctx.config.dataDir}`]);
    expect(by('disk_free')[0]!.value).toBeLessThan(100);
    expect(by('no_healthy_provider').map((a) => [a.subject, a.message])).toEqual([
      ['vod-api', 'vod-api has no instance registered'],
    ]);
    expect(by('db_replica')[0]?.message).toMatch(/does not answer.*lag not measurable/);
    thresholds.diskFreePercent = 0;
    await sentinel.tick();
    expect(await open(t, 'disk_free')).toEqual([]);
    expect(await open(t, 'db_replica')).toEqual(['replica']);
  });
});

// The lag queries run on the real engines; the test servers are primaries, so lag is not measurable there.
for (const engine of databaseEngines('replica lag suite').filter((e) => e.engine !== 'sqlite')) {
  describe.skipIf(!engine.available)(`replica lag on ${engine.engine}`, () => {
    it('says why the lag cannot be measured on a server that is not a replica, and raises nothing', async () => {
      const tdb = await engine.create();
      const db = createKysely(tdb.url, { poolSize: 1 });
      try {
        const lag = await replicaLag(db, engine.engine as 'mysql' | 'postgres');
        expect(lag).toEqual({
          unmeasurable:
            engine.engine === 'postgres'
              ? 'the replica is not in recovery (not a standby)'
              : expect.stringMatching(/^SHOW (REPLICA|SLAVE) STATUS (returned nothing|failed)/),
        });
        const why: string[] = [];
        const thresholds = { dbReplicaLagSeconds: 60 } as Parameters<typeof evaluateReplica>[2];
        const ev = await evaluateReplica(db, engine.engine as 'mysql' | 'postgres', thresholds, (w) =>
          why.push(w),
        );
        expect(ev).toEqual({ rule: 'db_replica', findings: [] });
        expect(why).toHaveLength(1);
      } finally {
        await db.destroy();
        await tdb.drop();
      }
    });
  });
}

describe('the monitor role in a running server', () => {
  it('starts the sentinel, which finds every role of the node healthy, and unregisters it on stop', async () => {
    const { startTestServer } = await import('../../../../../test/support/app');
    const bus = `local://role-${Date.now()}`;
    // The host's disk is not one of the node's roles: a CI machine short of space must not open an alert here.
    const s = await startTestServer({
      VOD_REGISTRY_URL: bus,
      VOD_SENTINEL_INTERVAL_MS: '500',
      VOD_ALERT_DISK_FREE_PERCENT: '0',
    });
    const registry = s.ctx.ports.registry;
    try {
      const view = await waitFor(
        async () => {
          const [mine] = registry.list(SENTINEL_SERVICE);
          const health = (mine?.metadata.health ?? {}) as Record<string, { ok: boolean }>;
          return health[s.ctx.node.id!]?.ok ? mine : undefined;
        },
        10_000,
        'the sentinel to hold this node healthy',
      );
      expect(view.id).toBe(s.ctx.node.id);
      expect(view.metadata.unhealthy).toEqual([]);
      const cluster = (
        await s.app.inject({
          method: 'GET',
          url: '/v1/admin/cluster',
          headers: { authorization: `Bearer ${s.adminKey}` },
        })
      ).json();
      const names = cluster.services.map((x: { name: string }) => x.name);
      expect(names).toEqual([
        'rpc-detection',
        'rpc-media',
        'rpc-monitor',
        'rpc-recording',
        'vod-api',
        'vod-monitor',
        'vod-sentinel',
        'vod-stream',
        'vod-upload',
        'vod-worker',
      ]);
      const api = cluster.services.find((x: { name: string }) => x.name === 'vod-api').instances[0];
      expect(api).toMatchObject({ id: s.ctx.node.id, url: s.ctx.node.url, health: { status: 'healthy' } });
      expect(api.roles).toEqual(['api', 'upload', 'stream', 'worker', 'monitor']);
      await waitFor(
        async () =>
          (await s.ctx.metrics.registry.metrics()).includes('vod_alerts_open 0') ? true : undefined,
        5000,
        'vod_alerts_open on /metrics',
      );
      expect(await s.ctx.monitor.alerts.list('open', 10)).toEqual([]);
    } finally {
      await s.close();
    }
    expect(registry.list(SENTINEL_SERVICE)).toEqual([]);
  });
});

const zkUrl = engineUrl('zookeeper', 'sentinel on ZooKeeper');
describe.skipIf(!zkUrl)('sentinel on ZooKeeper', () => {
  it('sees instances registered by another process on its first round and publishes its view there', async () => {
    const { servers } = parseZooKeeperUrl(zkUrl!);
    const url = `zookeeper://${servers}/vodcloud-sentinel-${Date.now().toString(36)}`;
    const t = await startTestApp({ VOD_REGISTRY_URL: url, VOD_ALERT_REQUIRED_SERVICES: 'vod-api' });
    const other = await createRegistry(url);
    const reader = await createRegistry(url);
    let sentinel: Sentinel | undefined;
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const appUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      const deadUrl = `http://127.0.0.1:${await closedPort()}`;
      await other.register('vod-api', { id: 'api-1', host: '127.0.0.1', port: 1, metadata: { url: appUrl } });
      await other.register('vod-api', {
        id: 'api-2',
        host: '127.0.0.1',
        port: 2,
        metadata: { url: deadUrl },
      });
      sentinel = sentinelFor(t, appUrl, 'sentinel-zk');
      await sentinel.tick();
      expect(sentinel.healthOf('api-1').ok).toBe(true);
      expect(await open(t, 'no_healthy_provider')).toEqual([]);
      await sentinel.tick();
      expect(sentinel.healthOf('api-2').ok).toBe(false);
      // Another process reads the verdicts from ZooKeeper.
      reader.list(SENTINEL_SERVICE);
      const seen = await waitFor(
        async () => (unhealthyInstances(reader).has('api-2') ? unhealthyInstances(reader) : undefined),
        10_000,
        'the unhealthy set through ZooKeeper',
      );
      expect([...seen]).toEqual(['api-2']);
      const cluster = (
        await t.app.inject({
          method: 'GET',
          url: '/v1/admin/cluster',
          headers: { authorization: `Bearer ${t.adminKey}` },
        })
      ).json();
      const api = cluster.services.find((x: { name: string }) => x.name === 'vod-api');
      expect(
        api.instances.map((i: { id: string; health: { status: string } }) => [i.id, i.health.status]),
      ).toEqual([
        ['api-1', 'healthy'],
        ['api-2', 'unhealthy'],
      ]);
    } finally {
      await sentinel?.stop();
      await other.close();
      await reader.close();
      await t.close();
    }
  });
});
