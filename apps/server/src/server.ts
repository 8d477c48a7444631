import type { FastifyInstance } from 'fastify';
import type { Config } from './config';
import { type AppContext, closeContext, createContext } from './context';
import { buildApp, VERSION } from './http/app';
import { createLogger } from './logger';
import { registerNode } from './modules/cluster';
import { startMonitorRole } from './modules/monitor/role';
import { monitorService } from './modules/rpc/contracts';
import { startStatsReporter } from './modules/rpc/reporter';
import { scheduleStatsRollup } from './modules/stats';
import { followDeliveryLog } from './modules/stream/delivery-log';
import { scheduleUploadExpiry } from './modules/uploads/jobs';

export interface RunningServer {
  app: FastifyInstance;
  ctx: AppContext;
  url: string;
  /** Stops accepting, lets in-flight requests finish within the shutdown bound, then closes every pool. */
  stop(reason?: string): Promise<void>;
}

/**
 * Starts the given roles. Every line goes to the log (JSON lines, or readable on a terminal: logger.ts); the
 * start record and the first-start admin key are written whatever VOD_LOG_LEVEL says (but `silent`), since
 * a person or a script waits for them.
 */
export async function startServer(config: Config): Promise<RunningServer> {
  const log = await createLogger({ level: config.logLevel, format: config.logFormat });
  const banner = log.child({}, { level: config.logLevel === 'silent' ? 'silent' : 'info' });
  const ctx = await createContext(config, log);
  let app: FastifyInstance;
  try {
    const boot = await ctx.tenants.bootstrapAdmin(config.adminApiKey);
    if (boot?.createdKey)
      banner.warn(
        { adminApiKey: boot.createdKey },
        `First start: created the platform admin API key ${boot.createdKey} (shown only this once: store it; set VOD_ADMIN_API_KEY to choose your own instead)`,
      );
    // The console needs a user: until one exists, say how to make the first (the password never in argv).
    if (config.roles.includes('api') && !(await ctx.accounts.hasUsers()))
      banner.warn(
        'No console user yet: create the first one (a platform admin) with `npx vodcloud users create --admin --email you@example.com --password-stdin`, then sign in at /',
      );
    app = await buildApp(ctx);
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await closeContext(ctx);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  banner.info(
    { url, roles: config.roles, version: VERSION },
    `vodcloud ${VERSION} serving ${config.roles.join(', ')} on ${url}${config.roles.includes('api') ? ` (API docs: ${url}/docs)` : ''}`,
  );
  const stoppers: Array<() => Promise<void> | void> = [];
  try {
    const reg = await registerNode(ctx.ports.registry, config, port, VERSION, log, ctx.rpc.provided());
    ctx.node.id = reg.node.id;
    ctx.node.url = reg.node.url;
    stoppers.push(() => reg.stop());
    if (ctx.callStats) {
      const reporter = startStatsReporter({
        rpc: ctx.rpc,
        stats: ctx.callStats,
        report: (r) => ctx.rpc.client(monitorService).report(r),
        node: () => ctx.node.id,
        roles: config.roles,
        intervalMs: config.rpc.reportMs,
        log,
      });
      stoppers.push(() => reporter.stop());
    }
    if (config.roles.includes('worker')) {
      await ctx.ports.queue.start({ concurrency: config.workerConcurrency });
      stoppers.push(scheduleUploadExpiry(ctx.ports.queue, log));
      stoppers.push(scheduleStatsRollup(ctx.jobs, log, config.stats.rollupIntervalMs));
    }
    // The nginx front's delivery log: read by the server only (never by a CLI command's context), stopped
    // before the counter is closed.
    const deliveryLog = followDeliveryLog(config, { delivery: ctx.delivery, log, metrics: ctx.metrics });
    if (deliveryLog) stoppers.push(() => deliveryLog.close());
    if (config.roles.includes('monitor')) {
      const monitorRole = startMonitorRole(ctx, { ...reg.node, version: VERSION });
      stoppers.push(() => monitorRole.stop());
    }
  } catch (err) {
    await app.close();
    await closeContext(ctx);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = (reason = 'stop') => {
    stopping ??= (async () => {
      log.info({ reason, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log.warn('in-flight requests did not finish within the shutdown bound; closing their connections');
          app.server.closeAllConnections();
          resolve();
        }, config.shutdownTimeoutMs);
      });
      await Promise.race([app.close(), bound]);
      clearTimeout(timer);
      for (const s of stoppers.reverse()) await s();
      await ctx.ports.queue.stop({ timeoutMs: config.shutdownTimeoutMs });
      await closeContext(ctx);
      log.info('stopped');
    })();
    return stopping;
  };
  return { app, ctx, url, stop };
}
