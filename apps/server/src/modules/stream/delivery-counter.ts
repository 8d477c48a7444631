import type { Logger } from 'pino';
import type { Database } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';

interface Tally {
  tenantId: string;
  videoId: string;
  period: string;
  bytes: number;
  requests: number;
}

/** The minute (UTC) a delivery belongs to, as an ISO string. */
export const minuteOf = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}:00.000Z`;

/**
 * Counts bytes and requests served, per tenant, video and minute (the statistics roll-up makes hours and days
 * of them, and the 5-minute peaks), in memory; flushes them to the database
 * every `flushMs` (at most 10 s by default) with one increment per row, never a write per request.
 * A failed flush keeps its counts for the next one, so nothing is lost while the database is away.
 */
export class DeliveryCounter {
  private tallies = new Map<string, Tally>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    flushMs = 10_000,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  /** The minute last counted in, and when it ends (a count per request: no date formatting per request). */
  private minute = { start: 0, end: 0, period: '' };

  count(tenantId: string, videoId: string, bytes: number, now = Date.now()): void {
    let m = this.minute;
    if (now < m.start || now >= m.end) {
      const start = now - (((now % 60_000) + 60_000) % 60_000);
      m = { start, end: start + 60_000, period: minuteOf(start) };
      this.minute = m;
    }
    const period = m.period;
    const key = `${tenantId}:${videoId}:${period}`;
    const t = this.tallies.get(key);
    if (t) {
      t.bytes += bytes;
      t.requests += 1;
    } else this.tallies.set(key, { tenantId, videoId, period, bytes, requests: 1 });
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.doFlush().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    if (this.tallies.size === 0) return;
    const batch = this.tallies;
    this.tallies = new Map();
    const failed: Tally[] = [];
    for (const t of batch.values()) {
      try {
        await this.add(t);
      } catch (err) {
        failed.push(t);
        this.log.warn(
          { err: (err as Error).message },
          'delivery counts not flushed; kept for the next flush',
        );
      }
    }
    for (const t of failed) {
      const key = `${t.tenantId}:${t.videoId}:${t.period}`;
      const cur = this.tallies.get(key);
      if (cur) {
        cur.bytes += t.bytes;
        cur.requests += t.requests;
      } else this.tallies.set(key, t);
    }
  }

  private async add(t: Tally): Promise<void> {
    const updatedAt = new Date().toISOString();
    const update = () =>
      this.db.primary
        .updateTable('delivery_stats')
        .set((eb) => ({
          bytes: eb('bytes', '+', t.bytes),
          requests: eb('requests', '+', t.requests),
          updated_at: updatedAt,
        }))
        .where('tenant_id', '=', t.tenantId)
        .where('video_id', '=', t.videoId)
        .where('period', '=', t.period)
        .executeTakeFirst();
    if (Number((await update()).numUpdatedRows) > 0) return;
    try {
      await this.db.primary
        .insertInto('delivery_stats')
        .values({
          tenant_id: t.tenantId,
          video_id: t.videoId,
          period: t.period,
          bytes: t.bytes,
          requests: t.requests,
          updated_at: updatedAt,
        })
        .execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      await update(); // another node created the row first
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
