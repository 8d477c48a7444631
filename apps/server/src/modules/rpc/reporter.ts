import type { Logger } from 'pino';
import type { Rpc } from './rpc';
import type { CallStats } from './stats';

/**
 * Sends this node's call statistics to the monitor (found through the registry) every `intervalMs`; a
 * report that cannot be delivered is kept and merged into the next one.
 */
export function startStatsReporter(o: {
  rpc: Rpc;
  stats: CallStats;
  report: (r: NonNullable<ReturnType<CallStats['drain']>>) => Promise<unknown>;
  node: () => string | undefined;
  roles: string[];
  intervalMs: number;
  log: Logger;
}): { flush(): Promise<void>; stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const flush = () => {
    running ??= (async () => {
      const node = o.node();
      if (!node) return;
      const report = o.stats.drain(node, o.roles);
      if (!report) return;
      try {
        await o.report(report);
      } catch (err) {
        o.stats.restore(report);
        o.log.debug({ err: (err as Error).message }, 'call statistics not delivered to the monitor; kept');
      }
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void flush(), o.intervalMs);
  timer.unref();
  return {
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
