import type { EventType } from '@vodcloud/contracts';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../db/connect';
import type { DB, EventsTable } from '../../db/schema';
import { newId } from '../../lib/ids';
import { nowIso } from '../../lib/time';

export interface VodEvent {
  id: string;
  tenantId: string;
  type: EventType;
  videoId: string | null;
  data: unknown;
  createdAt: string;
}

type Listener = (event: VodEvent) => Promise<void> | void;

/**
 * The event log: every state change is written to the `events` table (inside the caller's
 * transaction when given), then handed to in-process listeners (webhook fan-out subscribes here).
 */
export class EventService {
  private readonly listeners: Listener[] = [];

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
  ) {}

  on(listener: Listener): void {
    this.listeners.push(listener);
  }

  async emit(
    tenantId: string,
    type: EventType,
    videoId: string | null,
    data: unknown,
    trx?: Kysely<DB>,
  ): Promise<VodEvent> {
    const event: VodEvent = { id: newId(), tenantId, type, videoId, data, createdAt: nowIso() };
    await (trx ?? this.db.primary)
      .insertInto('events')
      .values({
        id: event.id,
        tenant_id: tenantId,
        type,
        video_id: videoId,
        data: JSON.stringify(data),
        created_at: event.createdAt,
        dispatched_at: null,
      })
      .execute();
    this.log.info({ event: type, tenantId, videoId, eventId: event.id }, 'event');
    if (!trx) await this.dispatch(event);
    return event;
  }

  /**
   * Hands an event to the listeners (for one written inside a transaction: once it committed), and marks it
   * dispatched when every listener took it. One that failed (e.g. the queue was unreachable) stays pending
   * and is handed over again by redispatchPending: webhooks are delivered at least once.
   */
  async dispatch(event: VodEvent): Promise<boolean> {
    let ok = true;
    for (const l of this.listeners) {
      try {
        await l(event);
      } catch (err) {
        ok = false;
        this.log.error(
          { err, eventId: event.id },
          'event listener failed; the event will be dispatched again',
        );
      }
    }
    if (ok)
      await this.db.primary
        .updateTable('events')
        .set({ dispatched_at: nowIso() })
        .where('id', '=', event.id)
        .execute()
        .catch((err) => this.log.warn({ err, eventId: event.id }, 'could not mark an event dispatched'));
    return ok;
  }

  /**
   * Dispatches again the events not marked dispatched `graceMs` after they were written (their listeners
   * failed, or the process died first), oldest first, at most `limit`. Listeners must be idempotent per event
   * id (the webhook fan-out is: one delivery job id per event and endpoint). Returns how many were handed over.
   */
  async redispatchPending(graceMs = 30_000, limit = 200): Promise<number> {
    const before = new Date(Date.now() - graceMs).toISOString();
    const rows = await this.db.primary
      .selectFrom('events')
      .selectAll()
      .where('dispatched_at', 'is', null)
      .where('created_at', '<', before)
      .orderBy('created_at')
      .limit(limit)
      .execute();
    let handed = 0;
    for (const r of rows) {
      if (await this.dispatch(eventOf(r))) handed++;
      else break; // the listeners still fail: try again on the next run
    }
    return handed;
  }

  async list(
    tenantId: string,
    opts: { videoId?: string; type?: string; limit?: number } = {},
  ): Promise<VodEvent[]> {
    let q = this.db.primary
      .selectFrom('events')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('id', 'desc')
      .limit(opts.limit ?? 100);
    if (opts.videoId) q = q.where('video_id', '=', opts.videoId);
    if (opts.type) q = q.where('type', '=', opts.type);
    const rows = await q.execute();
    return rows.map(eventOf);
  }
}

/** An `events` row as the event listeners and the API see it. */
function eventOf(r: EventsTable): VodEvent {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    type: r.type as EventType,
    videoId: r.video_id,
    data: JSON.parse(r.data),
    createdAt: r.created_at,
  };
}
