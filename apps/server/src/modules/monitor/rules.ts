import { statfs } from 'node:fs/promises';
import { type Kysely, sql } from 'kysely';
import type { AlertThresholds } from '../../config';
import type { Database, DialectName } from '../../db/connect';
import { replicaLag } from '../../db/replica-lag';
import type { DB } from '../../db/schema';
import type { JobQueue } from '../../ports/queue';
import type { ServiceInstance } from '../../ports/registry';
import type { Evaluation, Finding } from './alerts';
import type { MonitorService, Series } from './service';

/** The rules' names, stable: they are the `rule` of alerts. */
export const RULES = {
  noHealthyProvider: 'no_healthy_provider',
  rpcErrorRate: 'rpc_error_rate',
  rpcP95: 'rpc_p95',
  queueBacklog: 'queue_backlog',
  queueWait: 'queue_wait',
  diskFree: 'disk_free',
  dbReplica: 'db_replica',
} as const;

const round1 = (n: number) => Math.round(n * 10) / 10;

/** (a) Every service seen since start, and every required one, needs at least one healthy instance. */
export function evaluateProviders(
  services: string[],
  instances: Map<string, ServiceInstance[]>,
  healthOf: (id: string) => { ok: boolean | null; detail: string },
): Evaluation {
  const findings: Finding[] = [];
  for (const service of services) {
    const list = instances.get(service) ?? [];
    if (list.some((i) => healthOf(i.id).ok === true)) continue;
    const states = list.map((i) => {
      const h = healthOf(i.id);
      return `${i.id} ${h.ok === false ? 'unhealthy' : 'not yet healthy'}${h.detail ? ` (${h.detail})` : ''}`;
    });
    findings.push({
      rule: RULES.noHealthyProvider,
      subject: service,
      severity: 'critical',
      message: list.length
        ? `${service} has no healthy instance: ${states.join('; ')}`
        : `${service} has no instance registered`,
      value: 0,
      threshold: 1,
    });
  }
  return { rule: RULES.noHealthyProvider, findings };
}

/**
 * (b) error rate and (c) p95 per service and method over the last window, as callers saw it: the
 * consumer side, or the provider side when no consumer reported. Needs at least rpcMinCalls calls.
 */
export async function evaluateRpc(
  monitor: MonitorService,
  t: AlertThresholds,
  now: number,
): Promise<Evaluation[]> {
  const stats = await monitor.query({
    from: new Date(now - t.rpcWindowMinutes * 60_000).toISOString(),
    to: new Date(now).toISOString(),
  });
  const chosen = new Map<string, Series>();
  for (const s of stats.series) {
    const key = `${s.service}/${s.method}`;
    const cur = chosen.get(key);
    if (!cur || (cur.side === 'provider' && s.side === 'consumer')) chosen.set(key, s);
  }
  const errors: Finding[] = [];
  const slow: Finding[] = [];
  for (const [subject, s] of chosen) {
    const { calls, errors: failed, p95Ms } = s.totals;
    if (calls < t.rpcMinCalls) continue;
    const rate = (failed / calls) * 100;
    const span = `over the last ${t.rpcWindowMinutes} min (${s.side} side, ${calls} calls)`;
    if (rate > t.rpcErrorRatePercent)
      errors.push({
        rule: RULES.rpcErrorRate,
        subject,
        severity: 'warning',
        message: `${subject}: ${round1(rate)}% of calls failed ${span}; threshold ${t.rpcErrorRatePercent}%`,
        value: round1(rate),
        threshold: t.rpcErrorRatePercent,
      });
    if (p95Ms > t.rpcP95Ms)
      slow.push({
        rule: RULES.rpcP95,
        subject,
        severity: 'warning',
        message: `${subject}: p95 ${p95Ms} ms ${span}; threshold ${t.rpcP95Ms} ms`,
        value: p95Ms,
        threshold: t.rpcP95Ms,
      });
  }
  return [
    { rule: RULES.rpcErrorRate, findings: errors },
    { rule: RULES.rpcP95, findings: slow },
  ];
}

/**
 * (d) Waiting jobs per job name above queueWaiting; and, with the db queue (the only one whose store
 * tells), the oldest job due but not started waiting longer than queueWaitSeconds.
 */
export async function evaluateQueue(
  queue: JobQueue,
  db: Database,
  t: AlertThresholds,
  now: number,
): Promise<Evaluation[]> {
  const metrics = await queue.metrics();
  const backlog: Finding[] = [];
  for (const [name, m] of Object.entries(metrics)) {
    if (m.waiting > t.queueWaiting)
      backlog.push({
        rule: RULES.queueBacklog,
        subject: name,
        severity: 'warning',
        message: `${m.waiting} ${name} jobs waiting; threshold ${t.queueWaiting}`,
        value: m.waiting,
        threshold: t.queueWaiting,
      });
  }
  const out: Evaluation[] = [{ rule: RULES.queueBacklog, findings: backlog }];
  if (queue.kind === 'db') {
    const rows = await db.primary
      .selectFrom('jobs')
      .select(['name', (eb) => eb.fn.min('run_at').as('oldest')])
      .where('state', '=', 'waiting')
      .where('run_at', '<=', now)
      .groupBy('name')
      .execute();
    const late: Finding[] = [];
    for (const r of rows) {
      const ageSec = Math.floor((now - Number(r.oldest)) / 1000);
      if (ageSec > t.queueWaitSeconds)
        late.push({
          rule: RULES.queueWait,
          subject: r.name,
          severity: 'warning',
          message: `the oldest waiting ${r.name} job has waited ${ageSec} s; threshold ${t.queueWaitSeconds} s`,
          value: ageSec,
          threshold: t.queueWaitSeconds,
        });
    }
    out.push({ rule: RULES.queueWait, findings: late });
  }
  return out;
}

/** (e) Free space (for unprivileged users) on the data directory's file system, per node. */
export async function evaluateDisk(dir: string, nodeId: string, t: AlertThresholds): Promise<Evaluation> {
  const subject = `${nodeId}:${dir}`;
  const s = await statfs(dir);
  const freePct = s.blocks > 0 ? (Number(s.bavail) / Number(s.blocks)) * 100 : 100;
  const findings: Finding[] =
    freePct < t.diskFreePercent
      ? [
          {
            rule: RULES.diskFree,
            subject,
            severity: 'critical',
            message: `${round1(freePct)}% free on ${dir} (node ${nodeId}); threshold ${t.diskFreePercent}%`,
            value: round1(freePct),
            threshold: t.diskFreePercent,
          },
        ]
      : [];
  return { rule: RULES.diskFree, findings, covers: (x) => x === subject };
}

/** (f) The configured read replica answers, and lags at most dbReplicaLagSeconds. */
export async function evaluateReplica(
  replica: Kysely<DB> | undefined,
  dialect: DialectName,
  t: AlertThresholds,
  onUnmeasurable: (why: string) => void,
  /** What was seen, for /metrics: whether the replica answers, and its lag when measurable. */
  onSeen?: (seen: { up: boolean; lagSec?: number }) => void,
): Promise<Evaluation> {
  const rule = RULES.dbReplica;
  if (!replica) return { rule, findings: [] };
  const finding = (message: string, value: number | null): Evaluation => ({
    rule,
    findings: [
      { rule, subject: 'replica', severity: 'critical', message, value, threshold: t.dbReplicaLagSeconds },
    ],
  });
  try {
    await sql`select 1`.execute(replica);
  } catch (err) {
    onSeen?.({ up: false });
    return finding(
      `the database replica does not answer (${(err as Error).message}); reads fall back to the primary; lag not measurable while it is down`,
      null,
    );
  }
  const lag = await replicaLag(replica, dialect);
  onSeen?.({ up: true, lagSec: 'lagSec' in lag ? lag.lagSec : undefined });
  if ('unmeasurable' in lag) {
    onUnmeasurable(lag.unmeasurable);
    return { rule, findings: [] };
  }
  if (lag.lagSec > t.dbReplicaLagSeconds)
    return finding(
      `the database replica lags ${Math.round(lag.lagSec)} s behind the primary; threshold ${t.dbReplicaLagSeconds} s`,
      Math.round(lag.lagSec),
    );
  return { rule, findings: [] };
}
