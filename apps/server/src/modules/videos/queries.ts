import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../../db/connect';
import type { DB } from '../../db/schema';

/**
 * Queries on `videos` that other features need (categories, templates, uploads): the videos module
 * owns the table, so they live here and are exported through index.ts. They take the database (or a
 * caller's transaction) and import no other feature.
 */

/** Statuses of a video that still needs its template. */
const IN_FLIGHT = ['waiting_upload', 'uploading', 'queued', 'processing'];

/** Detaches a category's videos; inside the caller's transaction (the category delete stays atomic). */
export async function detachCategory(
  trx: Transaction<DB> | Kysely<DB>,
  tenantId: string,
  categoryId: string,
  at: string,
): Promise<void> {
  await trx
    .updateTable('videos')
    .set({ category_id: null, updated_at: at })
    .where('tenant_id', '=', tenantId)
    .where('category_id', '=', categoryId)
    .execute();
}

/** Videos of a tenant not yet processed with template `templateId` (it cannot be deleted meanwhile). */
export async function countVideosNeedingTemplate(
  db: Database,
  tenantId: string,
  templateId: string,
): Promise<number> {
  const row = await db.primary
    .selectFrom('videos')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('template_id', '=', templateId)
    .where('status', 'in', IN_FLIGHT)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Bytes of a tenant's stored video sources. */
export async function storedVideoBytes(db: Database, tenantId: string): Promise<number> {
  const row = await db.primary
    .selectFrom('videos')
    .select((eb) => eb.fn.sum<number>('size_bytes').as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** A subquery: the ids of videos (in `status` when given), for a caller's `where … in (…)`. */
export function videoIds(k: Kysely<DB>, status?: string) {
  const q = k.selectFrom('videos').select('videos.id');
  return status === undefined ? q : q.where('videos.status', '=', status);
}

/**
 * Bytes each tenant stores (statistics' storage snapshot): sources whose last byte arrived (an upload in
 * progress has declared its size before its bytes are in; rows older than `upload_completed_at` count by
 * `ready_at`), published outputs, and the number of videos.
 */
export function storedBytesByTenant(k: Kysely<DB>) {
  return k
    .selectFrom('videos')
    .select((eb) => [
      'tenant_id',
      eb.fn
        .sum<number>(
          eb
            .case()
            .when(eb.or([eb('upload_completed_at', 'is not', null), eb('ready_at', 'is not', null)]))
            .then(eb.fn.coalesce('size_bytes', sql<number>`0`))
            .else(sql<number>`0`)
            .end(),
        )
        .as('source_bytes'),
      eb.fn.sum<number>(eb.fn.coalesce('output_bytes', sql<number>`0`)).as('output_bytes'),
      eb.fn.countAll<number>().as('videos'),
    ])
    .groupBy('tenant_id')
    .execute();
}

/** Videos created in [from, to) per tenant (one tenant's, or every one's), uploads and URL imports apart. */
export function createdBySource(k: Kysely<DB>, tenantId: string | null, from: string, to: string) {
  let q = k
    .selectFrom('videos')
    .select((eb) => [
      'tenant_id',
      eb.fn.sum<number>(eb.case().when('input_url', 'is', null).then(1).else(0).end()).as('uploads'),
      eb.fn.sum<number>(eb.case().when('input_url', 'is not', null).then(1).else(0).end()).as('imports'),
    ])
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .groupBy('tenant_id');
  if (tenantId !== null) q = q.where('tenant_id', '=', tenantId);
  return q.execute();
}

/** The videos created since `from` (and before `to`), of one tenant or all: when, and whether imported. */
export function createdSince(k: Kysely<DB>, from: string, opts: { tenantId?: string; to?: string } = {}) {
  let q = k
    .selectFrom('videos')
    .select(['tenant_id', 'created_at', 'input_url'])
    .where('created_at', '>=', from);
  if (opts.tenantId !== undefined) q = q.where('tenant_id', '=', opts.tenantId);
  if (opts.to !== undefined) q = q.where('created_at', '<', opts.to);
  return q.execute();
}

/** The titles of a tenant's videos by id (missing: deleted). */
export async function videoTitles(
  k: Kysely<DB>,
  tenantId: string,
  ids: string[],
): Promise<Map<string, string | null>> {
  if (ids.length === 0) return new Map();
  const rows = await k
    .selectFrom('videos')
    .select(['id', 'title'])
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [r.id, r.title]));
}
