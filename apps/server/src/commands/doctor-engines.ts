// `vodcloud doctor`'s checks of the configured engines by round trips, not just pings: an object written,
// read back and deleted; a job the cluster's workers take and complete; the registry session and the
// clocks of the registered nodes.
import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config';
import { createDatabase, redactUrl } from '../db/connect';
import type { DoctorCheck, DoctorResult } from '../doctor';
import { Jobs } from '../jobs';
import { newId } from '../lib/ids';
import { CLOCK_REPORT_MS, instancesOf, SENTINEL_SERVICE } from '../modules/cluster';
import type { JobInfo } from '../ports/queue';
import type { Registry, ServiceInstance } from '../ports/registry';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const elapsed = (t0: number) => `${Math.round(performance.now() - t0)} ms`;
const NOT_MIGRATED = /no such table|doesn't exist|does not exist/i;

/** Writes 64 KiB under `_doctor/`, reads it back (size and sha256), deletes it and checks it is gone. */
export async function checkStorage(config: Config): Promise<DoctorResult> {
  const where = `VOD_STORAGE_URL=${redactUrl(config.storageUrl)}`;
  const fix =
    'is the directory writable, or the S3 endpoint reachable with valid keys (VOD_S3_ACCESS_KEY_ID, ' +
    'VOD_S3_SECRET_ACCESS_KEY) and the bucket created?';
  const { createObjectStore } = await import('@vodcloud/storage');
  const key = `_doctor/${newId()}`;
  const body = randomBytes(64 * 1024);
  let store: Awaited<ReturnType<typeof createObjectStore>> | undefined;
  let step = 'open';
  try {
    store = await createObjectStore(config.storageUrl, {
      s3: config.s3Credentials ? { credentials: config.s3Credentials } : undefined,
    } as never);
    const t0 = performance.now();
    step = 'write';
    await store.put(key, body, { contentType: 'application/octet-stream' });
    step = 'read';
    const got = await store.get(key);
    const chunks: Buffer[] = [];
    for await (const c of got.body) chunks.push(c as Buffer);
    const back = Buffer.concat(chunks);
    if (back.length !== body.length || sha(back) !== sha(body))
      throw new Error(`read back ${back.length} bytes that differ from the ${body.length} written`);
    step = 'delete';
    await store.delete(key);
    if (await store.head(key)) throw new Error('the object is still there after the delete');
    return {
      name: 'storage',
      ok: true,
      detail: `${where}: wrote, read back (sha256 equal) and deleted 64 KiB at ${key} in ${elapsed(t0)}`,
    };
  } catch (err) {
    await store?.delete(key).catch(() => undefined);
    return { name: 'storage', ok: false, detail: `${where}: ${step} failed: ${(err as Error).message}`, fix };
  } finally {
    await store?.close().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A round trip through the cluster's own workers: enqueues `uploads.sweep` (the periodic upload expiry,
 * idempotent and run every minute anyway, so an extra run changes nothing) under a fresh id and waits
 * for a worker to complete it. A probe job of its own would need a handler on every worker; a worker
 * started here could take real jobs. Not completed in time: a warning (no worker running, or the fast
 * queue is backed up), and the probe is cancelled.
 */
export async function checkQueue(config: Config, waitMs: number): Promise<DoctorResult> {
  const where = `VOD_QUEUE_URL=${redactUrl(config.queueUrl)}`;
  const { createJobQueue } = await import('../ports/queue');
  const db = createDatabase(config.dbUrl, { timeoutMs: Math.min(config.dbTimeoutMs, 5000) });
  let queue: Awaited<ReturnType<typeof createJobQueue>> | undefined;
  try {
    queue = await createJobQueue(config.queueUrl, { db, prefix: config.queuePrefix });
    const h = await queue.health();
    if (!h.ok) throw new Error(h.detail);
    const jobs = new Jobs(queue);
    jobs.define('uploads.sweep', {
      handler: () => {
        throw new Error('doctor never runs jobs'); // never started here: a worker runs it
      },
    });
    const t0 = performance.now();
    const id = await jobs.enqueue(
      'uploads.sweep',
      { at: new Date().toISOString() },
      { jobId: `doctor-${newId()}` },
    );
    let job: JobInfo | undefined;
    const until = Date.now() + waitMs;
    for (;;) {
      job = await queue.getJob(id);
      if (!job) throw new Error(`job ${id} was enqueued but cannot be read back`);
      if (job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled') break;
      if (Date.now() >= until) break;
      await sleep(100);
    }
    const probe = `probe job ${id} (uploads.sweep)`;
    if (job.state === 'completed')
      return {
        name: 'queue',
        ok: true,
        detail: `${where}: ${probe} enqueued, taken by a worker and completed in ${elapsed(t0)}`,
      };
    if (job.state === 'failed')
      return {
        name: 'queue',
        ok: false,
        detail: `${where}: ${probe} failed on a worker: ${job.error ?? 'no error recorded'}`,
        fix: 'see the worker logs for that job id',
      };
    await queue.cancel(id).catch(() => undefined);
    const waiting = Object.entries(await queue.metrics()).filter(([, m]) => m.waiting > 0);
    return {
      name: 'queue',
      ok: true,
      warn: true,
      detail:
        `${where}: ${probe} stored and read back, but not taken by a worker within ${waitMs} ms (cancelled); ` +
        `jobs waiting: ${waiting.map(([n, m]) => `${n} ${m.waiting}`).join(', ') || 'none'}`,
      fix: 'is a node with the worker role running against this database/queue? (`vodcloud status` lists them)',
    };
  } catch (err) {
    const message = (err as Error).message;
    return NOT_MIGRATED.test(message)
      ? {
          name: 'queue',
          ok: false,
          detail: `${where}: ${message} (the database is not migrated yet)`,
          fix: 'run `vodcloud migrate`, or start the server once (it migrates at start)',
        }
      : {
          name: 'queue',
          ok: false,
          detail: `${where}: ${message}`,
          fix: 'for redis://, is Redis running and reachable; for db, is the database healthy?',
        };
  } finally {
    await queue?.close().catch(() => undefined);
    await db.close();
  }
}

/**
 * Each node rewrites its registry entry every CLOCK_REPORT_MS with `metadata.time`, its clock then. The
 * first value seen of an instance is old; the next one arrives within milliseconds of being written, so
 * its time minus this machine's clock on receipt is that node's offset (less the registry's latency).
 */
export async function clockOffsets(registry: Registry, waitMs: number) {
  const services = (await registry.services()).filter((s) => s !== SENTINEL_SERVICE);
  const seen = new Map<string, { first: string; url: string }>();
  const offsets = new Map<string, number>();
  const silent = new Set<string>();
  let wake: () => void = () => undefined;
  const onList = (list: ServiceInstance[]) => {
    const received = Date.now();
    for (const i of list) {
      const time = i.metadata.time;
      const url = typeof i.metadata.url === 'string' ? i.metadata.url : `${i.host}:${i.port}`;
      if (typeof time !== 'string') silent.add(i.id);
      else if (!seen.has(i.id)) seen.set(i.id, { first: time, url });
      else if (time !== seen.get(i.id)!.first && !offsets.has(i.id))
        offsets.set(i.id, Date.parse(time) - received);
    }
    wake();
  };
  for (const s of services) await instancesOf(registry, s); // loaded (ZooKeeper) before subscribing
  const unsubscribe = services.map((s) => registry.subscribe(s, onList));
  const until = Date.now() + waitMs;
  while (Date.now() < until && [...seen.keys()].some((id) => !offsets.has(id))) {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((r) => {
      wake = r;
      timer = setTimeout(r, Math.max(0, until - Date.now()));
    });
    clearTimeout(timer);
  }
  for (const u of unsubscribe) u();
  return {
    offsets: [...offsets].map(([id, ms]) => ({ id, url: seen.get(id)!.url, offsetMs: ms })),
    late: [...seen.keys()].filter((id) => !offsets.has(id)),
    silent: [...silent].filter((id) => !seen.has(id)),
  };
}

const CLOCK_WARN_MS = 1000;
const CLOCK_FAIL_MS = 10_000;

/** The registry session (state, what is registered) and the clock skew between the registered nodes. */
export async function checkRegistry(config: Config, waitMs: number): Promise<DoctorResult[]> {
  const where = `VOD_REGISTRY_URL=${redactUrl(config.registryUrl)}`;
  if (config.registryUrl === 'local' || config.registryUrl.startsWith('local:'))
    return [
      {
        name: 'registry',
        ok: true,
        detail: `${where}: in-process registry, no session (each process sees only itself)`,
      },
      {
        name: 'clock',
        ok: true,
        detail: 'not checked: a local registry shows no other nodes to compare clocks with',
      },
    ];
  const { createRegistry } = await import('../ports/registry');
  let registry: Registry | undefined;
  try {
    registry = await createRegistry(config.registryUrl, { connectTimeoutMs: 5000 });
    const h = await registry.health();
    const services = (await registry.services()).filter((s) => s !== SENTINEL_SERVICE);
    const counts = await Promise.all(
      services.map(async (s) => `${s} ${(await instancesOf(registry!, s)).length}`),
    );
    const session: DoctorResult = {
      name: 'registry',
      ok: h.ok && registry.state() === 'connected',
      detail: `${where}: session ${registry.state()}; ${h.detail}; registered: ${counts.join(', ') || 'nothing'}`,
      fix: h.ok ? undefined : 'is ZooKeeper running (scripts/zk-up.sh) and reachable at that address?',
    };
    if (!session.ok) return [session];
    const c = await clockOffsets(registry, waitMs);
    return [session, clockVerdict(c, waitMs)];
  } catch (err) {
    return [
      {
        name: 'registry',
        ok: false,
        detail: `${where}: ${(err as Error).message}`,
        fix: 'is ZooKeeper running (scripts/zk-up.sh) and reachable at that address?',
      },
    ];
  } finally {
    await registry?.close().catch(() => undefined);
  }
}

function clockVerdict(c: Awaited<ReturnType<typeof clockOffsets>>, waitMs: number): DoctorResult {
  const all = [0, ...c.offsets.map((o) => o.offsetMs)]; // 0: this machine
  const skew = Math.max(...all) - Math.min(...all);
  const notes = [
    c.late.length ? `no update within ${waitMs} ms from ${c.late.join(', ')}` : '',
    c.silent.length ? `no time reported by ${c.silent.join(', ')} (an older version)` : '',
  ].filter(Boolean);
  if (c.offsets.length === 0)
    return {
      name: 'clock',
      ok: true,
      warn: true,
      detail: `no node's clock could be read${notes.length ? `: ${notes.join('; ')}` : ''}`,
    };
  const fmt = (ms: number) => `${ms >= 0 ? '+' : ''}${ms} ms`;
  return {
    name: 'clock',
    ok: skew < CLOCK_FAIL_MS,
    warn: skew >= CLOCK_WARN_MS || notes.length > 0,
    detail:
      `skew ${skew} ms across ${c.offsets.length} node(s) and this machine (offsets: ` +
      `${c.offsets.map((o) => `${o.id} ${fmt(o.offsetMs)}`).join(', ')})` +
      (notes.length ? `; ${notes.join('; ')}` : ''),
    fix:
      skew >= CLOCK_WARN_MS
        ? 'run NTP (chrony or systemd-timesyncd) on every node: leases, delays and token expiry compare clocks'
        : undefined,
  };
}

/** The engine checks, with how long the queue probe and the clock reading may take. */
export function engineChecks(o: { waitMs: number }): DoctorCheck[] {
  return [
    checkStorage,
    (config) => checkQueue(config, o.waitMs),
    (config) => checkRegistry(config, Math.max(o.waitMs, CLOCK_REPORT_MS + 2000)),
  ];
}
