import type { Logger } from 'pino';
import type { Database } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';
import { skippingDuplicates } from '../../db/insert';
import type { RpcStatsTable } from '../../db/schema';
import { BUCKETS_MS, quantileMs, StatsReport } from '../../lib/call-stats';
import { AlertService } from './alerts';

export const minuteOf = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}:00.000Z`;

export interface MonitorQuery {
  service?: string;
  method?: string;
  side?: 'consumer' | 'provider';
  /** ISO 8601; default `to` minus 60 minutes. */
  from?: string;
  /** ISO 8601; default now. */
  to?: string;
}

export interface Figures {
  calls: number;
  errors: number;
  meanMs: number;
  p95Ms: number;
  maxMs: number;
}

export interface Series {
  service: string;
  method: string;
  side: 'consumer' | 'provider';
  points: Array<Figures & { minute: string }>;
  totals: Figures;
}

export interface MonitorResult {
  from: string;
  to: string;
  series: Series[];
  totals: Figures;
}

/** Sums of one or more rows: what figures are computed from. */
class Acc {
  calls = 0;
  errors = 0;
  sumMs = 0;
  maxMs = 0;
  buckets: number[] = new Array(BUCKETS_MS.length + 1).fill(0);

  add(calls: number, errors: number, sumMs: number, maxMs: number, buckets: readonly number[]): void {
    this.calls += calls;
    this.errors += errors;
    this.sumMs += sumMs;
    this.maxMs = Math.max(this.maxMs, maxMs);
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i]! += buckets[i] ?? 0;
  }

  figures(): Figures {
    return {
      calls: this.calls,
      errors: this.errors,
      meanMs: this.calls ? round(this.sumMs / this.calls) : 0,
      p95Ms: quantileMs(this.buckets, 0.95, this.maxMs),
      maxMs: round(this.maxMs),
    };
  }
}

/** MariaDB/MySQL deadlock, PostgreSQL deadlock or serialization failure: the transaction may be re-run. */
function isDeadlock(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === '40P01' || code === '40001';
}

const round = (n: number) => Math.round(n * 1000) / 1000;

function parseBuckets(text: string): number[] {
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.map((n) => Number(n) || 0) : [];
  } catch {
    return [];
  }
}

/**
 * Stores call statistics per minute and answers time series from them. Every report is added to the
 * rows of the minute its `to` falls in (one row per service, method, side and node), so totals from
 * several reports, nodes and monitors add up exactly.
 */
export class MonitorService {
  /** Alerts raised by the sentinel (listed by the admin API). */
  readonly alerts: AlertService;

  constructor(
    private readonly db: Database,
    log: Logger,
  ) {
    this.alerts = new AlertService(db, log);
  }

  async ingest(input: StatsReport): Promise<{ minute: string; rows: number }> {
    const report = StatsReport.parse(input);
    const toMs = Date.parse(report.to);
    if (Number.isNaN(toMs)) throw new Error(`stats report: invalid "to" ${report.to}`);
    const minute = minuteOf(toMs);
    // Entries with the same key in one report are merged first (one row write each).
    const merged = new Map<
      string,
      { key: Omit<RpcStatsTable, 'calls' | 'errors' | 'sum_ms' | 'max_ms' | 'buckets'>; acc: Acc }
    >();
    for (const e of report.entries) {
      const k = `${e.service}\u0000${e.method}\u0000${e.side}`;
      let m = merged.get(k);
      if (!m) {
        m = {
          key: { minute, service: e.service, method: e.method, side: e.side, node: report.node },
          acc: new Acc(),
        };
        merged.set(k, m);
      }
      m.acc.add(e.calls, e.errors, e.sumMs, e.maxMs, e.buckets);
    }
    if (merged.size === 0) return { minute, rows: 0 };
    // The rows are created empty first, outside the transaction (a duplicate is ignored): inserting
    // inside it, next to rows other reports lock, deadlocks on MariaDB. Then read-modify-write in one
    // transaction (rows locked on MariaDB/PostgreSQL; SQLite serialises writers). A transaction that
    // still meets a deadlock or a concurrent insert is re-run.
    const empty = JSON.stringify(new Array(BUCKETS_MS.length + 1).fill(0));
    const placeholders = this.db.primary.insertInto('rpc_stats').values(
      [...merged.values()].map(({ key }) => ({
        ...key,
        calls: 0,
        errors: 0,
        sum_ms: 0,
        max_ms: 0,
        buckets: empty,
      })),
    );
    await skippingDuplicates(this.db.dialect, placeholders).execute();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.primary.transaction().execute(async (trx) => {
          let q = trx
            .selectFrom('rpc_stats')
            .selectAll()
            .where('minute', '=', minute)
            .where('node', '=', report.node);
          if (this.db.dialect !== 'sqlite') q = q.forUpdate();
          const existing = new Map(
            (await q.execute()).map((r) => [`${r.service}\u0000${r.method}\u0000${r.side}`, r]),
          );
          for (const [k, { key, acc }] of merged) {
            const row = existing.get(k);
            if (row) {
              const sum = new Acc();
              sum.add(
                Number(row.calls),
                Number(row.errors),
                Number(row.sum_ms),
                Number(row.max_ms),
                parseBuckets(row.buckets),
              );
              sum.add(acc.calls, acc.errors, acc.sumMs, acc.maxMs, acc.buckets);
              await trx
                .updateTable('rpc_stats')
                .set({
                  calls: sum.calls,
                  errors: sum.errors,
                  sum_ms: sum.sumMs,
                  max_ms: sum.maxMs,
                  buckets: JSON.stringify(sum.buckets),
                })
                .where('minute', '=', key.minute)
                .where('service', '=', key.service)
                .where('method', '=', key.method)
                .where('side', '=', key.side)
                .where('node', '=', key.node)
                .execute();
            } else {
              await trx
                .insertInto('rpc_stats')
                .values({
                  ...key,
                  calls: acc.calls,
                  errors: acc.errors,
                  sum_ms: acc.sumMs,
                  max_ms: acc.maxMs,
                  buckets: JSON.stringify(acc.buckets),
                })
                .execute();
            }
          }
        });
        return { minute, rows: merged.size };
      } catch (err) {
        if (attempt >= 5 || !(isUniqueViolation(err) || isDeadlock(err))) throw err;
        await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 20));
      }
    }
  }

  async query(q: MonitorQuery = {}, now = Date.now()): Promise<MonitorResult> {
    const toMs = q.to ? Date.parse(q.to) : now;
    const fromMs = q.from ? Date.parse(q.from) : toMs - 60 * 60_000;
    const from = minuteOf(fromMs);
    const to = new Date(toMs).toISOString();
    const rows = await this.db.read((db) => {
      let s = db.selectFrom('rpc_stats').selectAll().where('minute', '>=', from).where('minute', '<=', to);
      if (q.service) s = s.where('service', '=', q.service);
      if (q.method) s = s.where('method', '=', q.method);
      if (q.side) s = s.where('side', '=', q.side);
      return s.execute();
    });
    const series = new Map<
      string,
      { s: Omit<Series, 'points' | 'totals'>; minutes: Map<string, Acc>; total: Acc }
    >();
    const total = new Acc();
    for (const r of rows) {
      const k = `${r.service}\u0000${r.method}\u0000${r.side}`;
      let e = series.get(k);
      if (!e) {
        e = {
          s: { service: r.service, method: r.method, side: r.side as Series['side'] },
          minutes: new Map(),
          total: new Acc(),
        };
        series.set(k, e);
      }
      let m = e.minutes.get(r.minute);
      if (!m) {
        m = new Acc();
        e.minutes.set(r.minute, m);
      }
      const args = [
        Number(r.calls),
        Number(r.errors),
        Number(r.sum_ms),
        Number(r.max_ms),
        parseBuckets(r.buckets),
      ] as const;
      m.add(...args);
      e.total.add(...args);
      total.add(...args);
    }
    const out = [...series.values()]
      .map(({ s, minutes, total: t }) => ({
        ...s,
        points: [...minutes.entries()]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([minute, acc]) => ({ minute, ...acc.figures() })),
        totals: t.figures(),
      }))
      .sort((a, b) =>
        `${a.service} ${a.method} ${a.side}`.localeCompare(`${b.service} ${b.method} ${b.side}`),
      );
    return { from, to, series: out, totals: total.figures() };
  }

  /** Deletes minutes older than the retention; returns the number of rows removed. */
  async purge(retentionHours: number, now = Date.now()): Promise<number> {
    const cutoff = minuteOf(now - retentionHours * 3_600_000);
    const r = await this.db.primary.deleteFrom('rpc_stats').where('minute', '<', cutoff).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
