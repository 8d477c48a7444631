import type { Database } from '../../db/connect';
import type { AuditEventsTable } from '../../db/schema';

export interface AuditFilter {
  /** undefined: every tenant's events (the platform admin key). */
  tenantId?: string;
  action?: string;
  actorId?: string;
  targetId?: string;
  /** ISO-8601 UTC, inclusive. */
  since?: string;
  /** ISO-8601 UTC, exclusive. */
  until?: string;
  /** A tenant's view: the targets of refused requests are not shown, so `targetId` matches accepted ones only. */
  tenantView?: boolean;
}

export class AuditRepository {
  constructor(private readonly db: Database) {}

  /** One multi-row insert. */
  async insert(rows: AuditEventsTable[]): Promise<void> {
    if (rows.length > 0) await this.db.primary.insertInto('audit_events').values(rows).execute();
  }

  /** Newest first; `limit + 1` rows so the caller can tell whether another page follows. */
  async list(f: AuditFilter, limit: number, beforeId?: string): Promise<AuditEventsTable[]> {
    return this.db.read((k) => {
      let q = k
        .selectFrom('audit_events')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(limit + 1);
      if (f.tenantId !== undefined) q = q.where('tenant_id', '=', f.tenantId);
      if (f.action !== undefined) q = q.where('action', '=', f.action);
      if (f.actorId !== undefined) q = q.where('actor_id', '=', f.actorId);
      if (f.targetId !== undefined) q = q.where('target_id', '=', f.targetId);
      if (f.targetId !== undefined && f.tenantView) q = q.where('status', '<', 400);
      if (f.since !== undefined) q = q.where('at', '>=', f.since);
      if (f.until !== undefined) q = q.where('at', '<', f.until);
      if (beforeId) q = q.where('id', '<', beforeId);
      return q.execute();
    });
  }

  /**
   * Deletes events older than `cutoff` in batches of `batch` rows (select the ids, then delete them: MySQL
   * takes no LIMIT in a subquery of IN), at most `maxBatches` per call; returns the number deleted.
   */
  async purgeBefore(cutoff: string, batch: number, maxBatches: number): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const ids = (
        await this.db.primary
          .selectFrom('audit_events')
          .select('id')
          .where('at', '<', cutoff)
          .orderBy('at')
          .limit(batch)
          .execute()
      ).map((r) => r.id);
      if (ids.length === 0) break;
      const r = await this.db.primary.deleteFrom('audit_events').where('id', 'in', ids).executeTakeFirst();
      total += Number(r.numDeletedRows);
      if (ids.length < batch) break;
    }
    return total;
  }
}
