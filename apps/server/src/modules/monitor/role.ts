import type { AppContext } from '../../context';
import { Sentinel } from './sentinel';

/**
 * How often the monitor role deletes call statistics older than VOD_MONITOR_RETENTION_HOURS, audit events
 * older than VOD_AUDIT_RETENTION_DAYS and expired Idempotency-Key responses.
 */
export const PURGE_EVERY_MS = 5 * 60_000;
/** How often the monitor role hands pending events (see EventService.redispatchPending) over again. */
export const REDISPATCH_EVERY_MS = 15_000;

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
      // Idempotency-Key responses past their 24 h (also ignored when met before this runs).
      ctx.idempotency.purge().then(
        (n) => n > 0 && log.info({ rows: n }, 'purged expired idempotency keys'),
        (err) => log.warn({ err: (err as Error).message }, 'idempotency key purge failed'),
      ),
      // Console sessions past their end (each is refused when met; this keeps the table small).
      ctx.accounts.purgeSessions().then(
        (n) => n > 0 && log.info({ rows: n }, 'purged ended sessions'),
        (err) => log.warn({ err: (err as Error).message }, 'session purge failed'),
      ),
    ]);
  void purge();
  const timer = setInterval(purge, PURGE_EVERY_MS);
  timer.unref();
  // Events whose webhook fan-out failed (the queue was down) or never ran (the process died) go out again.
  let redispatching = false;
  const redispatch = async () => {
    if (redispatching) return;
    redispatching = true;
    try {
      const n = await ctx.events.redispatchPending();
      if (n > 0) log.info({ events: n }, 'dispatched events whose listeners had failed');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'event redispatch failed');
    } finally {
      redispatching = false;
    }
  };
  const redispatchTimer = setInterval(redispatch, REDISPATCH_EVERY_MS);
  redispatchTimer.unref();
  return {
    sentinel,
    async stop() {
      clearInterval(timer);
      clearInterval(redispatchTimer);
      await sentinel.stop();
    },
  };
}
