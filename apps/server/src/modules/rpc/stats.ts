import { Histogram, type Registry } from 'prom-client';
import { BUCKETS_MS, type CallTotals, type StatsReport } from '../../lib/call-stats';

type Side = CallTotals['side'];

/**
 * Counts and times RPC calls per service, method and side in memory. `drain()` hands the totals since the
 * previous drain to the reporter (which sends them to the monitor); a report that could not be delivered is
 * put back with `restore()`, so nothing is lost while the monitor is away. Every call is also observed in a
 * Prometheus histogram (`vod_rpc_call_duration_seconds`) on the node's own /metrics.
 */
export class CallStats {
  private totals = new Map<string, CallTotals>();
  private since = new Date();
  private readonly histogram?: Histogram<'service' | 'method' | 'side' | 'outcome'>;

  constructor(registry?: Registry) {
    if (registry)
      this.histogram =
        (registry.getSingleMetric('vod_rpc_call_duration_seconds') as typeof this.histogram) ??
        new Histogram({
          name: 'vod_rpc_call_duration_seconds',
          help: 'RPC calls by service, method, side (consumer/provider) and outcome (ok/error)',
          labelNames: ['service', 'method', 'side', 'outcome'] as const,
          buckets: BUCKETS_MS.map((ms) => ms / 1000),
          registers: [registry],
        });
  }

  /** Prometheus children per labels, so a call observes without hashing its labels again. */
  private readonly children = new Map<string, { observe(v: number): void }>();

  record(side: Side, service: string, method: string, ms: number, ok: boolean): void {
    const key = `${side}|${service}|${method}`;
    let t = this.totals.get(key);
    if (!t) {
      t = {
        service,
        method,
        side,
        calls: 0,
        errors: 0,
        sumMs: 0,
        maxMs: 0,
        buckets: new Array<number>(BUCKETS_MS.length + 1).fill(0),
      };
      this.totals.set(key, t);
    }
    t.calls++;
    if (!ok) t.errors++;
    t.sumMs += ms;
    if (ms > t.maxMs) t.maxMs = ms;
    let b = 0;
    while (b < BUCKETS_MS.length && ms > BUCKETS_MS[b]!) b++;
    t.buckets[b]!++;
    if (this.histogram) {
      const outcome = ok ? 'ok' : 'error';
      const ck = `${key}|${outcome}`;
      let child = this.children.get(ck);
      if (!child) {
        child = this.histogram.labels({ service, method, side, outcome });
        this.children.set(ck, child);
      }
      child.observe(ms / 1000);
    }
  }

  /** The totals since the last drain (and resets them); `undefined` when no call was made. */
  drain(node: string, roles: string[]): StatsReport | undefined {
    const to = new Date();
    const entries = [...this.totals.values()];
    const from = this.since;
    this.totals = new Map();
    this.since = to;
    if (entries.length === 0) return undefined;
    return { node, roles, from: from.toISOString(), to: to.toISOString(), entries };
  }

  /** Puts back the entries of a report that could not be delivered (added to what was counted since). */
  restore(report: StatsReport): void {
    this.since = new Date(Math.min(this.since.getTime(), Date.parse(report.from)));
    for (const e of report.entries) {
      const key = `${e.side}|${e.service}|${e.method}`;
      const t = this.totals.get(key);
      if (!t) {
        this.totals.set(key, { ...e, buckets: [...e.buckets] });
        continue;
      }
      t.calls += e.calls;
      t.errors += e.errors;
      t.sumMs += e.sumMs;
      t.maxMs = Math.max(t.maxMs, e.maxMs);
      for (let i = 0; i < t.buckets.length; i++) t.buckets[i]! += e.buckets[i] ?? 0;
    }
  }
}
