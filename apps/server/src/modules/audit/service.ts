import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { AuditEvent } from '@vodcloud/contracts';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { z } from 'zod';
import type { Database } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';
import type { AuditEventsTable } from '../../db/schema';
import { newId } from '../../lib/ids';
import { type AuditFilter, AuditRepository } from './repository';

export type { AuditFilter } from './repository';

export interface AuditOptions {
  /** How often buffered events are written (default 1 s). */
  flushMs?: number;
  /** Rows per insert; a full batch is written at once (default 200). */
  batchSize?: number;
  /** Events held in memory at most; more are dropped and counted (default 10 000). */
  maxBuffered?: number;
}

export function auditView(row: AuditEventsTable): z.infer<typeof AuditEvent> {
  let detail: Record<string, unknown> | null = null;
  try {
    detail = row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null;
  } catch {
    detail = null;
  }
  return {
    id: row.id,
    at: row.at,
    tenantId: row.tenant_id,
    actor: {
      kind: row.actor_kind as z.infer<typeof AuditEvent>['actor']['kind'],
      id: row.actor_id,
      ...(row.actor_email ? { email: row.actor_email } : {}),
    },
    action: row.action,
    target: row.target_type ? { type: row.target_type, id: row.target_id } : null,
    method: row.method,
    route: row.route,
    status: Number(row.status),
    requestId: row.request_id,
    address: row.address,
    detail,
  };
}

const DAY_MS = 86_400_000;

/**
 * The audit log. `record` never waits and never throws: events are buffered in memory and written in
 * multi-row inserts every `flushMs` (or as soon as a batch is full). A failed write keeps its events for the
 * next flush while the buffer has room; beyond `maxBuffered` events are dropped and counted
 * (`vod_audit_dropped_total`). A crash loses what is buffered: at most about `flushMs` of events.
 */
export class AuditService {
  private buffer: AuditEventsTable[] = [];
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private readonly repo: AuditRepository;
  private readonly batchSize: number;
  private readonly maxBuffered: number;
  private readonly dropped: Counter | undefined;
  private lastDropWarning = 0;

  constructor(
    db: Database,
    private readonly log: Logger,
    opts: AuditOptions & { metrics?: Registry } = {},
  ) {
    this.repo = new AuditRepository(db);
    this.batchSize = opts.batchSize ?? 200;
    this.maxBuffered = opts.maxBuffered ?? 10_000;
    this.dropped = opts.metrics
      ? new Counter({
          name: 'vod_audit_dropped_total',
          help: 'Audit events dropped because the buffer was full (the database unreachable or too slow)',
          registers: [opts.metrics],
        })
      : undefined;
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 1000);
    this.timer.unref();
  }

  /** Buffers one event; never blocks the request. */
  record(row: AuditEventsTable): void {
    if (this.buffer.length >= this.maxBuffered) {
      this.drop(1);
      return;
    }
    this.buffer.push(row);
    if (this.buffer.length >= this.batchSize) void this.flush();
  }

  /**
   * Records an action taken on the command line (`vodcloud tenants create`, …): actor `cli`, its id the
   * operating-system user, method `CLI`, route the command, status 0. Written when the context closes.
   */
  recordCommand(e: {
    command: string;
    action: string;
    tenantId: string | null;
    target: { type: string; id: string };
  }): void {
    let user: string | null = null;
    try {
      user = userInfo().username.slice(0, 64) || null;
    } catch {
      user = null; // no passwd entry (some containers)
    }
    this.record({
      id: newId(),
      at: new Date().toISOString(),
      tenant_id: e.tenantId,
      actor_kind: 'cli',
      actor_id: user,
      action: e.action,
      target_type: e.target.type,
      target_id: e.target.id,
      method: 'CLI',
      route: e.command.slice(0, 200),
      status: 0,
      request_id: randomUUID(),
      address: null,
      detail: null,
    });
  }

  /** Writes everything buffered before this call (serialised: one flush runs at a time). */
  flush(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) {
      this.running = this.drain().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued = this.running.then(() => {
      this.queued = undefined;
      return this.flush();
    });
    return this.queued;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.batchSize);
      const failed = await this.write(batch);
      if (failed.length === 0) continue;
      // Kept for the next flush, oldest first, within the bound.
      const room = Math.max(0, this.maxBuffered - this.buffer.length);
      this.buffer.unshift(...failed.slice(0, room));
      if (failed.length > room) this.drop(failed.length - room);
      return;
    }
  }

  /**
   * Writes a batch; returns the rows to retry. When the multi-row insert fails, each row is tried alone:
   * if some pass, the database is up and the rows that fail are refused for good (dropped, so one bad row
   * cannot block the log); if none pass, the database is away and all are kept.
   */
  private async write(batch: AuditEventsTable[]): Promise<AuditEventsTable[]> {
    try {
      await this.repo.insert(batch);
      return [];
    } catch (err) {
      const failed: AuditEventsTable[] = [];
      for (const row of batch)
        await this.repo.insert([row]).catch((e) => {
          if (!isUniqueViolation(e)) failed.push(row); // a duplicate: the failed batch was written after all
        });
      if (failed.length === batch.length) {
        this.log.warn(
          { err: (err as Error).message, events: batch.length },
          'audit events not written; kept',
        );
        return failed;
      }
      if (failed.length > 0) {
        this.drop(failed.length);
        this.log.error(
          { err: (err as Error).message, events: failed.length },
          'audit events refused by the database',
        );
      }
      return [];
    }
  }

  private drop(n: number): void {
    this.dropped?.inc(n);
    const now = Date.now();
    if (now - this.lastDropWarning > 60_000) {
      this.lastDropWarning = now;
      this.log.warn({ buffered: this.buffer.length }, 'audit buffer full: events dropped');
    }
  }

  /**
   * A page of events, newest first. In a tenant's view (`tenantView`) a refused request (status 400 or more)
   * shows no target id: the id it named may be another tenant's resource (answered 404 like a missing one).
   */
  async list(filter: AuditFilter, limit: number, beforeId?: string) {
    return (await this.repo.list(filter, limit, beforeId)).map((row) => {
      const e = auditView(row);
      return filter.tenantView && e.status >= 400 && e.target
        ? { ...e, target: { ...e.target, id: null } }
        : e;
    });
  }

  /** Deletes events older than `retentionDays`, in bounded batches; returns how many. */
  purge(retentionDays: number, now = Date.now(), batch = 1000, maxBatches = 100): Promise<number> {
    const cutoff = new Date(now - retentionDays * DAY_MS).toISOString();
    return this.repo.purgeBefore(cutoff, batch, maxBatches);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
