import type { AppContext } from '../../context';
import { Sentinel } from './sentinel';

/**
 * How often the monitor role deletes call statistics older than VOD_MONITOR_RETENTION_HOURS and audit events
 * older than VOD_AUDIT_RETENTION_DAYS.
 */
export const PURGE_EVERY_MS = 5 * 60_000;

/** The monitor role's background work: the sentinel and the retention purge. Returns the stopper. */
export function startMonitorRole(
  ctx: AppContext,
  self: { id: string; url: string; version?: string },
): { sentinel: Sentinel; stop(): Promise<void> } {
  const { config, log } = ctx;
  const sentinel = new Sentinel({
    registry: ctx.ports.registry,
    monitor: ctx.monitor,
    queue: ctx.ports.queue,
    db: ctx.db,
    log,
    metrics: ctx.metrics.registry,
    self,
    dataDir: config.dataDir,
    intervalMs: config.sentinelIntervalMs,
    thresholds: config.alerts,
    dbReplicaUrl: config.dbReplicaUrl,
    dbTimeoutMs: config.dbTimeoutMs,
  });
  sentinel.start();
  const purge = () =>
    Promise.all([
      ctx.monitor.purge(config.monitorRetentionHours).then(
        (n) => n > 0 && log.info({ rows: n }, 'purged call statistics past retention'),
        (err) => log.warn({ err: (err as Error).message }, 'call statistics purge failed'),
      ),
      // Bounded batches (100 × 1000 rows a run); a larger backlog goes over the next runs.
      ctx.audit.purge(config.auditRetentionDays).then(
        (n) => n > 0 && log.info({ rows: n }, 'purged audit events past retention'),
        (err) => log.warn({ err: (err as Error).message }, 'audit log purge failed'),
      ),
    ]);
  void purge();
  const timer = setInterval(purge, PURGE_EVERY_MS);
  timer.unref();
  return {
    sentinel,
    async stop() {
      clearInterval(timer);
      await sentinel.stop();
    },
  };
}
