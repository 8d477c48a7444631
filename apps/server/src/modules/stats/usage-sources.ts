/**
 * The usage facts the statistics roll-up reads (issue 17, item 3): stored bytes per tenant per day,
 * transcoded seconds per rendition, uploads and imports. Plain numbers out (drivers return sums as
 * strings or bigints: converted here). Times are ISO-8601 UTC strings as stored; ranges are [from, to).
 */
import { sql } from 'kysely';
import type { Database } from '../../db/connect';
import type { StorageUsageTable } from '../../db/schema';
import { createdBySource, storedBytesByTenant } from '../videos';

export interface StorageMeasure {
  /** Bytes of the sources kept (uploads and imports whose bytes all arrived). */
  sourceBytes: number;
  /** Bytes of the published outputs (videos.output_bytes, measured at publish). */
  outputBytes: number;
  /** Videos the tenant has (deleted ones are gone: their rows are removed). */
  videos: number;
}

export interface TranscodedSeconds {
  total: number;
  /** Seconds per rendition: `720p`, …, `audio`. */
  byRendition: Record<string, number>;
}

export interface UploadsAndImports {
  uploads: number;
  imports: number;
}

const num = (v: unknown) => Number(v ?? 0);
/** Rows per upsert statement (well under every engine's bound on parameters). */
const BATCH = 500;

/**
 * Measures every tenant's stored bytes and writes one `storage_usage` row per tenant for `day`
 * (`YYYY-MM-DD`, UTC), zeros for a tenant without videos. Re-running a day overwrites its rows. A source
 * counts once its last byte arrived (`upload_completed_at`; a video published before that column existed
 * counts by its `ready_at`): an upload in progress declares its size before its bytes are in. Returns
 * what was written, by tenant id.
 */
export async function measureStorage(
  db: Database,
  day: string,
  now: Date = new Date(),
): Promise<Record<string, StorageMeasure>> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`measureStorage: day must be YYYY-MM-DD, not ${day}`);
  const k = db.primary;
  const [tenants, sums] = await Promise.all([
    k.selectFrom('tenants').select('id').execute(),
    storedBytesByTenant(k),
  ]);
  const out: Record<string, StorageMeasure> = {};
  for (const t of tenants) out[t.id] = { sourceBytes: 0, outputBytes: 0, videos: 0 };
  for (const r of sums)
    if (out[r.tenant_id])
      out[r.tenant_id] = {
        sourceBytes: num(r.source_bytes),
        outputBytes: num(r.output_bytes),
        videos: num(r.videos),
      };
  const measuredAt = now.toISOString();
  const rows: StorageUsageTable[] = Object.entries(out).map(([tenantId, m]) => ({
    tenant_id: tenantId,
    day,
    source_bytes: m.sourceBytes,
    output_bytes: m.outputBytes,
    videos: m.videos,
    measured_at: measuredAt,
  }));
  for (let i = 0; i < rows.length; i += BATCH) {
    const insert = k.insertInto('storage_usage').values(rows.slice(i, i + BATCH));
    await (db.dialect === 'mysql'
      ? insert.onDuplicateKeyUpdate({
          source_bytes: sql`values(source_bytes)`,
          output_bytes: sql`values(output_bytes)`,
          videos: sql`values(videos)`,
          measured_at: sql`values(measured_at)`,
        })
      : insert.onConflict((oc) =>
          oc.columns(['tenant_id', 'day']).doUpdateSet((eb) => ({
            source_bytes: eb.ref('excluded.source_bytes'),
            output_bytes: eb.ref('excluded.output_bytes'),
            videos: eb.ref('excluded.videos'),
            measured_at: eb.ref('excluded.measured_at'),
          })),
        )
    ).execute();
  }
  return out;
}

/**
 * Seconds of output transcoded in [fromIso, toIso) (by the time its generation was published), in all
 * and per rendition, for one tenant or (null) the platform; `byTenant` splits the same range per tenant.
 */
export async function transcodedSeconds(
  db: Database,
  tenantId: string | null,
  fromIso: string,
  toIso: string,
): Promise<TranscodedSeconds & { byTenant: Record<string, TranscodedSeconds> }> {
  // The primary: a roll-up that reads a lagging replica would store an undercount.
  let q = db.primary
    .selectFrom('transcode_usage')
    .select((eb) => ['tenant_id', 'rendition', eb.fn.sum<number>('seconds').as('seconds')])
    .where('created_at', '>=', fromIso)
    .where('created_at', '<', toIso)
    .groupBy(['tenant_id', 'rendition']);
  if (tenantId !== null) q = q.where('tenant_id', '=', tenantId);
  const rows = await q.execute();
  const all: TranscodedSeconds = { total: 0, byRendition: {} };
  const byTenant: Record<string, TranscodedSeconds> = {};
  for (const r of rows) {
    const s = num(r.seconds);
    const t = byTenant[r.tenant_id] ?? { total: 0, byRendition: {} };
    byTenant[r.tenant_id] = t;
    for (const into of [all, t]) {
      into.total += s;
      into.byRendition[r.rendition] = (into.byRendition[r.rendition] ?? 0) + s;
    }
  }
  return { ...all, byTenant };
}

/**
 * Videos created in [fromIso, toIso) by how their source came: an upload, or an import from a URL (the
 * video has an `input_url`). For one tenant or (null) the platform; `byTenant` splits the same range per
 * tenant. Counted from the videos that exist: a video deleted before this runs is not counted.
 */
export async function uploadsAndImports(
  db: Database,
  tenantId: string | null,
  fromIso: string,
  toIso: string,
): Promise<UploadsAndImports & { byTenant: Record<string, UploadsAndImports> }> {
  const rows = await createdBySource(db.primary, tenantId, fromIso, toIso);
  const out = { uploads: 0, imports: 0, byTenant: {} as Record<string, UploadsAndImports> };
  for (const r of rows) {
    const uploads = num(r.uploads);
    const imports = num(r.imports);
    out.byTenant[r.tenant_id] = { uploads, imports };
    out.uploads += uploads;
    out.imports += imports;
  }
  return out;
}
