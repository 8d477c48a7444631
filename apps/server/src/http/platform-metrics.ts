import { statfs } from 'node:fs/promises';
import { Counter, Gauge } from 'prom-client';
import type { Role } from '../config';
import type { Database } from '../db/connect';
import type { JobMetrics, JobQueue, QueueClass } from '../ports/queue';
import type { Registry as ServiceRegistry } from '../ports/registry';
import type { Metrics } from './metrics';

export interface PlatformSources {
  roles: readonly Role[];
  queue: JobQueue;
  /** The queue class a job name runs in (jobs/registry.ts). */
  queueOf(name: string): QueueClass | undefined;
  registry: Pick<ServiceRegistry, 'kind' | 'state'>;
  db: Pick<Database, 'stats' | 'read' | 'replicaState'>;
  dataDir: string;
}

/** A view whose last beacon is older than this is not counted as in progress. */
export const VIEW_IN_PROGRESS_MS = 2 * 60_000;

const REGISTRY_STATES = ['connecting', 'connected', 'disconnected', 'expired', 'closed'] as const;
const JOB_OUTCOMES = ['completed', 'failed', 'retried', 'cancelled'] as const;

/**
 * The metrics read from the ports when Prometheus scrapes, each on the nodes where it means something: the
 * store-wide queue depth on monitor nodes (one answer per cluster, not one per node), the jobs this node ran
 * on workers, the registry session, database pools and the data directory's file system everywhere.
 */
export function registerPlatformMetrics(metrics: Metrics, s: PlatformSources): void {
  const registers = [metrics.registry];
  if (s.roles.includes('monitor')) {
    queueDepth(registers, s);
    viewsInProgress(registers, s);
  }
  if (s.roles.includes('worker'))
    new Counter({
      name: 'vod_jobs_total',
      help: 'Job attempts this node finished, by queue class, job name and outcome (completed; retried: failed and scheduled again; failed: after its last attempt; cancelled)',
      labelNames: ['queue', 'name', 'outcome'] as const,
      registers,
      collect() {
        this.reset();
        for (const [name, c] of Object.entries(s.queue.ran()))
          for (const outcome of JOB_OUTCOMES)
            this.inc({ queue: s.queueOf(name) ?? 'unknown', name, outcome }, c[outcome]);
      },
    });
  new Gauge({
    name: 'vod_registry_session',
    help: "1 for the state this node's registry session is in (connecting, connected, disconnected: suspended, expired, closed), 0 for the others",
    labelNames: ['registry', 'state'] as const,
    registers,
    collect() {
      const now = s.registry.state();
      for (const state of REGISTRY_STATES)
        this.set({ registry: s.registry.kind, state }, state === now ? 1 : 0);
    },
  });
  new Gauge({
    name: 'vod_db_pool_connections',
    help: 'Database pool connections by target (primary, replica) and state: open (in use or idle), idle, waiting (callers waiting for one), max. SQLite has no pool.',
    labelNames: ['target', 'state'] as const,
    registers,
    collect() {
      for (const { target, pool } of s.db.stats())
        if (pool)
          for (const state of ['open', 'idle', 'waiting', 'max'] as const)
            this.set({ target, state }, pool[state === 'open' ? 'total' : state]);
    },
  });
  if (s.db.replicaState())
    new Gauge({
      name: 'vod_db_replica_reads_bypassed',
      help: 'This node: 1 while stale-tolerant reads go to the primary because the replica lags beyond VOD_DB_REPLICA_MAX_LAG_SEC or stopped replicating, 0 while they go to the replica',
      registers,
      collect() {
        this.set(s.db.replicaState()?.bypassed ? 1 : 0);
      },
    });
  new Counter({
    name: 'vod_db_query_errors_total',
    help: 'Database statements that failed, by target (primary, replica): unreachable database, timeouts, constraint violations',
    labelNames: ['target'] as const,
    registers,
    collect() {
      this.reset();
      for (const { target, queryErrors } of s.db.stats()) this.inc({ target }, queryErrors);
    },
  });
  const disk = async () => {
    const fs = await statfs(s.dataDir).catch(() => undefined);
    return fs && { available: Number(fs.bavail) * fs.bsize, size: Number(fs.blocks) * fs.bsize };
  };
  new Gauge({
    name: 'vod_data_dir_available_bytes',
    help: 'Bytes available to vodcloud on the file system of VOD_DATA_DIR (work files, cached sources)',
    registers,
    async collect() {
      const d = await disk();
      if (d) this.set(d.available);
    },
  });
  new Gauge({
    name: 'vod_data_dir_size_bytes',
    help: 'Size in bytes of the file system of VOD_DATA_DIR',
    registers,
    async collect() {
      const d = await disk();
      if (d) this.set(d.size);
    },
  });
}

/**
 * Views open now (store-wide, one answer per cluster: monitor nodes): views not closed whose last beacon
 * came within VIEW_IN_PROGRESS_MS. Counted from stats_views, which the statistics roll-up fills, so it
 * trails the beacons by the roll-up's interval.
 */
function viewsInProgress(registers: Metrics['registry'][], s: PlatformSources): void {
  new Gauge({
    name: 'vod_views_in_progress',
    help: 'Views in progress (store-wide, exported by monitor nodes): not ended, with a beacon within the last 2 minutes, as of the last statistics roll-up',
    registers,
    async collect() {
      const since = new Date(Date.now() - VIEW_IN_PROGRESS_MS).toISOString();
      const row = await s.db
        .read((k) =>
          k
            .selectFrom('stats_views')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('closed', '=', 0)
            .where('last_event_at', '>=', since)
            .executeTakeFirst(),
        )
        .catch(() => undefined);
      // An unreachable database leaves the last value (the scrape still answers).
      if (row) this.set(Number(row.n));
    },
  });
}

/** Waiting, delayed and running jobs and the oldest one's wait, per queue class and job name (store-wide). */
function queueDepth(registers: Metrics['registry'][], s: PlatformSources): void {
  // Both gauges read one metrics() call a scrape (the BullMQ adapter lists pending jobs to count them).
  let last: { at: number; value: Promise<Record<string, JobMetrics>> } | undefined;
  const read = () => {
    if (!last || Date.now() - last.at > 1000) last = { at: Date.now(), value: s.queue.metrics() };
    return last.value;
  };
  new Gauge({
    name: 'vod_queue_jobs',
    help: 'Jobs in the queue (store-wide, exported by monitor nodes) by queue class, job name and state: waiting (ready), delayed (scheduled or backing off), active',
    labelNames: ['queue', 'name', 'state'] as const,
    registers,
    async collect() {
      this.reset();
      for (const [name, m] of Object.entries(await read())) {
        const queue = s.queueOf(name) ?? 'unknown';
        for (const state of ['waiting', 'delayed', 'active'] as const)
          this.set({ queue, name, state }, m[state]);
      }
    },
  });
  new Gauge({
    name: 'vod_queue_oldest_waiting_seconds',
    help: 'How long the oldest job ready to run has waited, by queue class and job name (0: none waits)',
    labelNames: ['queue', 'name'] as const,
    registers,
    async collect() {
      this.reset();
      for (const [name, m] of Object.entries(await read()))
        this.set({ queue: s.queueOf(name) ?? 'unknown', name }, m.oldestWaitingMs / 1000);
    },
  });
}
