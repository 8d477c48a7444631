import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zookeeper from 'node-zookeeper-client';
import { afterAll, describe, expect, it } from 'vitest';
import { engineUrl } from '../../../../../test/support/engines';
import { runRegistrySuite, waitFor } from './conformance';
import { createRegistry, LocalRegistry, parseZooKeeperUrl, type ZooKeeperRegistry } from './index';

const run = randomBytes(4).toString('hex');
const timings: string[] = [];
const report = (what: string, ms: number) => {
  timings.push(`${what}: ${ms} ms`);
};

runRegistrySuite('local', {
  create: () => createRegistry(`local://conformance-${run}`),
  engineOnly:
    'ZooKeeper-specific: a local registry lives inside one process, so there is no other process to kill, ' +
    'no session to expire and no engine to restart',
});

describe('local adapter', () => {
  it('keeps differently named buses apart', async () => {
    const x = new LocalRegistry(`x-${run}`);
    const y = new LocalRegistry(`y-${run}`);
    await x.register('svc', { id: 'i', host: 'h', port: 1 });
    expect(x.list('svc')).toHaveLength(1);
    expect(y.list('svc')).toHaveLength(0);
    await x.close();
    await y.close();
  });

  it('parses URLs', async () => {
    expect(parseZooKeeperUrl('zookeeper://a:1,b:2/vod/x?sessionTimeoutMs=4000')).toMatchObject({
      servers: 'a:1,b:2',
      chroot: '/vod/x',
    });
    expect(parseZooKeeperUrl('zookeeper://a:1').chroot).toBe('');
    await expect(createRegistry('consul://x')).rejects.toThrow(/unsupported/);
  });
});

const zkUrl = engineUrl('zookeeper', 'registry: ZooKeeper adapter');
describe.skipIf(!zkUrl)('zookeeper', () => {
  const root = fileURLToPath(new URL('../../../../../', import.meta.url));
  const sh = promisify(execFile);
  const { servers } = parseZooKeeperUrl(zkUrl ?? 'zookeeper://unused:0');
  const chroot = `/vodcloud-test-${run}`;
  const url = `zookeeper://${servers}${chroot}`;
  const sessionTimeoutMs = 3000;

  const rawClient = async (opts: { sessionId?: Buffer; sessionPassword?: Buffer } = {}) => {
    const c = zookeeper.createClient(servers, { sessionTimeout: sessionTimeoutMs, ...opts });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('raw client: no connection')), 10_000);
      c.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      c.connect();
    });
    return c;
  };

  // Restarting the engine only makes sense for the one this project's scripts manage.
  const local = /^(127\.0\.0\.1|localhost):\d+$/.test(servers);
  const port = servers.split(':')[1];
  const script = async (name: string, env: Record<string, string> = {}) => {
    const { stdout } = await sh('bash', [`${root}scripts/${name}`], {
      env: { ...process.env, ZK_PORT: port, ZK_KEEP_DATA: '1', ...env },
    });
    timings.push(`${name}: ${stdout.trim()}`);
  };

  // The suite's clients reach ZooKeeper through this TCP relay so a test can cut them off
  // (a network partition) without touching the server.
  const [zkHost, zkPort] = servers.split(',')[0]!.split(':') as [string, string];
  const relaySockets = new Set<net.Socket>();
  let relayBlocked = false;
  const relay = net.createServer((downstream) => {
    if (relayBlocked) {
      downstream.destroy();
      return;
    }
    const upstream = net.connect(Number(zkPort), zkHost);
    for (const s of [downstream, upstream]) {
      relaySockets.add(s);
      s.on('close', () => {
        relaySockets.delete(s);
        downstream.destroy();
        upstream.destroy();
      });
      s.on('error', () => {});
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  const relayReady = new Promise<number>((resolve) =>
    relay.listen(0, '127.0.0.1', () => resolve((relay.address() as net.AddressInfo).port)),
  );
  const cutRelay = () => {
    relayBlocked = true;
    for (const s of relaySockets) s.destroy();
  };
  afterAll(async () => {
    cutRelay();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  });

  runRegistrySuite('zookeeper', {
    create: async () =>
      createRegistry(`zookeeper://127.0.0.1:${await relayReady}${chroot}`, { sessionTimeoutMs }),
    child: { url, sessionTimeoutMs },
    expireSession: async (registry) => {
      // Partition the client away, then end its session on the server: a second client joins
      // the same session (with its id and password) and closes it. When the partition heals,
      // the client learns that its session has expired.
      const info = (registry as ZooKeeperRegistry).sessionInfo();
      if (!info) throw new Error('not connected');
      cutRelay();
      try {
        await waitFor('client cut off', () => registry.state() === 'disconnected');
        const twin = await rawClient({ sessionId: info.sessionId, sessionPassword: info.password });
        await new Promise<void>((resolve) => {
          twin.once('disconnected', () => resolve());
          twin.close();
        });
      } finally {
        relayBlocked = false;
      }
    },
    outage: local ? { stop: () => script('zk-down.sh'), start: () => script('zk-up.sh') } : undefined,
    engineOnly: 'the engine is not on 127.0.0.1, so this run cannot restart it',
    report,
  });

  it('creates a missing chroot and reports the session in health()', async () => {
    const r = await createRegistry(`zookeeper://${servers}${chroot}/nested/deeper`, { sessionTimeoutMs });
    const health = await r.health();
    expect(health.ok).toBe(true);
    expect(health.detail).toMatch(/session 0x[0-9a-f]+ \(timeout \d+ ms\)/);
    await r.register('svc', { id: 'one', host: 'h', port: 1 });
    const c = await rawClient();
    const kids = await new Promise<string[]>((resolve, reject) =>
      c.getChildren(`${chroot}/nested/deeper/services/svc`, undefined, (e, k) =>
        e ? reject(e) : resolve(k),
      ),
    );
    expect(kids).toEqual(['one']);
    const data = await new Promise<Buffer>((resolve, reject) =>
      c.getData(`${chroot}/nested/deeper/services/svc/one`, undefined, (e, d) =>
        e ? reject(e) : resolve(d!),
      ),
    );
    expect(JSON.parse(data.toString())).toMatchObject({ service: 'svc', id: 'one', host: 'h', port: 1 });
    c.close();
    await r.close();
  });

  it('ignores nodes that are not instances', async () => {
    const r = await createRegistry(url, { sessionTimeoutMs });
    const c = await rawClient();
    const seen: number[] = [];
    r.subscribe('foreign', (l) => seen.push(l.length));
    await waitFor('initial', () => seen.length > 0);
    await new Promise<void>((resolve, reject) =>
      c.mkdirp(`${chroot}/services/foreign/garbage`, (e) => (e ? reject(e) : resolve())),
    );
    await r.register('foreign', { id: 'real', host: 'h', port: 1 });
    await waitFor('real one', () => r.list('foreign').length === 1);
    expect(r.list('foreign')[0]!.id).toBe('real');
    c.close();
    await r.close();
  });

  it('fails to start against an unreachable server', async () => {
    await expect(createRegistry('zookeeper://127.0.0.1:1/x', { connectTimeoutMs: 500 })).rejects.toThrow(
      /no ZooKeeper connection/,
    );
  });

  afterAll(async () => {
    // (the library's removeRecursive only lists one level in 1.1.3, so walk the tree ourselves)
    const c = await rawClient();
    const removeTree = async (path: string): Promise<void> => {
      const kids = await new Promise<string[]>((resolve) =>
        c.getChildren(path, undefined, (e, k) => resolve(e ? [] : k)),
      );
      await Promise.all(kids.map((k) => removeTree(`${path}/${k}`)));
      await new Promise<void>((resolve) => c.remove(path, -1, () => resolve()));
    };
    await removeTree(chroot);
    const left = await new Promise<boolean>((resolve) => c.exists(chroot, (_e, stat) => resolve(!!stat)));
    c.close();
    expect(left).toBe(false);
    if (timings.length) console.log(`registry timings:\n  ${timings.join('\n  ')}`);
  }, 30_000);
});
