import type { Kysely } from 'kysely';
import type { Database } from '../../db/connect';
import type { DB, EventsTable, WebhookDeliveriesTable, WebhooksTable } from '../../db/schema';

export class WebhookRepository {
  constructor(private readonly db: Database) {}

  private get primary(): Kysely<DB> {
    return this.db.primary;
  }

  async insert(row: WebhooksTable): Promise<void> {
    await this.primary.insertInto('webhooks').values(row).execute();
  }

  async find(tenantId: string, id: string): Promise<WebhooksTable | undefined> {
    return this.primary
      .selectFrom('webhooks')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
  }

  /** For the delivery job, which knows only the id. */
  async findById(id: string): Promise<WebhooksTable | undefined> {
    return this.primary
      .selectFrom('webhooks')
      .selectAll()
      .where('id', '=', id)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
  }

  async count(tenantId: string): Promise<number> {
    const r = await this.primary
      .selectFrom('webhooks')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Every active endpoint of a tenant (for fan-out; a tenant has at most a few dozen). */
  async active(tenantId: string): Promise<WebhooksTable[]> {
    return this.primary
      .selectFrom('webhooks')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('disabled_at', 'is', null)
      .execute();
  }

  async list(tenantId: string, limit: number, beforeId?: string): Promise<WebhooksTable[]> {
    return this.db.read((k) => {
      let q = k
        .selectFrom('webhooks')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('disabled_at', 'is', null)
        .orderBy('id', 'desc')
        .limit(limit + 1);
      if (beforeId) q = q.where('id', '<', beforeId);
      return q.execute();
    });
  }

  /** Removes the endpoint and its delivery log; its pending jobs find it gone and end quietly. */
  async delete(tenantId: string, id: string): Promise<number> {
    return this.primary.transaction().execute(async (trx) => {
      const r = await trx
        .deleteFrom('webhooks')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      const n = Number(r.numDeletedRows);
      if (n > 0)
        await trx
          .deleteFrom('webhook_deliveries')
          .where('tenant_id', '=', tenantId)
          .where('webhook_id', '=', id)
          .execute();
      return n;
    });
  }

  async insertDelivery(row: WebhookDeliveriesTable): Promise<void> {
    await this.primary.insertInto('webhook_deliveries').values(row).execute();
  }

  async deliveries(
    tenantId: string,
    webhookId: string,
    limit: number,
    beforeId?: string,
  ): Promise<WebhookDeliveriesTable[]> {
    // The primary: a client polling the log right after a delivery should see it.
    let q = this.primary
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .where('tenant_id', '=', tenantId)
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (beforeId) q = q.where('id', '<', beforeId);
    return q.execute();
  }

  async findDelivery(
    tenantId: string,
    webhookId: string,
    id: string,
  ): Promise<WebhookDeliveriesTable | undefined> {
    return this.primary
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', id)
      .where('webhook_id', '=', webhookId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
  }

  /** The highest attempt number logged for one event on one endpoint (0 when none). */
  async lastAttempt(webhookId: string, eventId: string): Promise<number> {
    const row = await this.primary
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.max('attempt').as('n'))
      .where('webhook_id', '=', webhookId)
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async event(id: string): Promise<EventsTable | undefined> {
    return this.primary.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
  }
}
