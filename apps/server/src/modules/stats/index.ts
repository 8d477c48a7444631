import type { Logger } from 'pino';
import type { Config } from '../../config';
import type { Database } from '../../db/connect';
import type { Jobs } from '../../jobs/jobs';
import { jobIds } from '../../jobs/registry';
import { type Cache, LockTimeoutError } from '../../ports/cache';
import { BeaconIngest } from './ingest';
import { StatsQueries } from './queries';
import { type RollupReport, StatsRollup } from './rollup';
import { ViewerHasher } from './viewer';

export { toCsv } from './csv';
export { BeaconBufferFull, BeaconIngest } from './ingest';
export { StatsQueries } from './queries';
export { StatsRollup } from './rollup';
export { statsRoutes } from './routes';
export { ViewerHasher } from './viewer';

export interface StatsService {
  ingest: BeaconIngest;
  viewers: ViewerHasher;
  rollup: StatsRollup;
  queries: StatsQueries;
  /** Runs the roll-up unless another node is running it (cluster-wide lock); null when skipped. */
  runRollup(now?: number): Promise<RollupReport | null>;
}

/** Builds the statistics service, defines `stats.rollup` and registers the buffer's final flush on shutdown. */
export function createStats(d: {
  config: Config;
  db: Database;
  cache: Cache;
  log: Logger;
  jobs: Jobs;
  closers: Array<() => Promise<void>>;
}): StatsService {
  const s = d.config.stats;
  const viewers = new ViewerHasher(d.db);
  const ingest = new BeaconIngest({
    db: d.db,
    log: d.log,
    cache: d.cache,
    flushMs: s.beaconFlushMs,
    maxBuffered: s.beaconBufferMax,
  });
  const rollup = new StatsRollup(d.db, viewers, {
    log: d.log,
    viewTimeoutMs: s.viewTimeoutMs,
    retentionDays: s.retentionDays,
  });
  d.closers.push(() => ingest.close());
  const service: StatsService = {
    ingest,
    viewers,
    rollup,
    queries: new StatsQueries(d.db, s.retentionDays.hour),
    async runRollup(now?: number) {
      try {
        return await d.cache.withLock('stats:rollup', { leaseMs: 60_000 }, async () => {
          // Beacons accepted on this node are written first, so a run sees everything accepted before it.
          await ingest.flush();
          return rollup.run(now);
        });
      } catch (err) {
        if (err instanceof LockTimeoutError) return null;
        throw err;
      }
    },
  };
  defineStatsJobs(d.jobs, service);
  return service;
}

/** Defines `stats.rollup` (the worker runs it). */
export function defineStatsJobs(jobs: Jobs, stats: StatsService): void {
  jobs.define('stats.rollup', {
    handler: async () => (await stats.runRollup()) ?? { skipped: 'another run holds the lock' },
  });
}

/** Every worker node enqueues the periodic roll-up; the job id (a time slot) dedupes it cluster-wide. */
export function scheduleStatsRollup(jobs: Jobs, log: Logger, everyMs: number): () => void {
  const tick = () => {
    const slot = Math.floor(Date.now() / everyMs);
    jobs
      .enqueue('stats.rollup', { at: new Date().toISOString() }, { jobId: jobIds.statsRollup(slot) })
      .catch((err) => log.warn({ err: (err as Error).message }, 'could not schedule the statistics roll-up'));
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
