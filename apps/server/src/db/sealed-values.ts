import { type RawBuilder, sql } from 'kysely';
import { ConfigError } from '../config';
import { envelopeKid, type KeyRing, type SealedKind, type SecretBox } from '../lib/secretbox';
import type { Database } from './connect';

/**
 * Every column holding a secret at rest, for the start-up check, the sealing of values written before a
 * master key was set, `vodcloud secrets rotate` and `status`. `ref` is the row part of the value's
 * additional data: the features seal with the same (lib/secretbox.ts SecretBox).
 */
interface SealedColumn {
  kind: SealedKind;
  table: 'settings' | 'webhooks' | 'signing_keys' | 'videos' | 'idempotency_keys';
  column: string;
  /** The primary key (pages are read in its order). */
  id: string;
  /** Another column the ref needs. */
  extra?: string;
  /** Only rows where this column has this value. */
  only?: [string, string];
  ref(row: Record<string, unknown>): string;
}

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  {
    kind: 'cluster-secret',
    table: 'settings',
    column: 'value',
    id: 'name',
    only: ['name', 'secret'],
    ref: () => 'secret',
  },
  { kind: 'webhook-secret', table: 'webhooks', column: 'secret', id: 'id', ref: (r) => String(r.id) },
  { kind: 'signing-key', table: 'signing_keys', column: 'private_key', id: 'id', ref: (r) => String(r.id) },
  // An HLS key belongs to a video's generation; publishing copies it from hls_key to published_hls_key.
  {
    kind: 'hls-key',
    table: 'videos',
    column: 'hls_key',
    id: 'id',
    extra: 'generation',
    ref: (r) => `${r.id}/${r.generation}`,
  },
  {
    kind: 'hls-key',
    table: 'videos',
    column: 'published_hls_key',
    id: 'id',
    extra: 'published_generation',
    ref: (r) => `${r.id}/${r.published_generation}`,
  },
  // Stored responses of Idempotency-Key requests (24 h): they may carry a key or secret shown once.
  {
    kind: 'idempotent-response',
    table: 'idempotency_keys',
    column: 'response',
    id: 'id',
    ref: (r) => String(r.id),
  },
];

const BATCH = 200;

function whereOf(c: SealedColumn, extra?: RawBuilder<unknown>): RawBuilder<unknown> {
  const parts = [sql`${sql.ref(c.column)} is not null`];
  if (c.only) parts.push(sql`${sql.ref(c.only[0])} = ${c.only[1]}`);
  if (extra) parts.push(extra);
  return sql.join(parts, sql` and `);
}

/** Per kind: values stored without a master key (`unsealed`) and sealed ones per key id. */
export type SealedStatus = Record<SealedKind, { unsealed: number; byKid: Record<string, number> }>;

export async function sealedStatus(db: Database): Promise<SealedStatus> {
  const out = {} as SealedStatus;
  for (const c of SEALED_COLUMNS) {
    out[c.kind] ??= { unsealed: 0, byKid: {} };
    const entry = out[c.kind];
    const col = sql.ref(c.column);
    const prefix = sql`case when ${col} like 'v1:%' then substr(${col}, 1, 11) else '' end`;
    const { rows } = await sql<{ p: string; n: number | string }>`
      select ${prefix} as p, count(*) as n from ${sql.table(c.table)} where ${whereOf(c)} group by ${prefix}`.execute(
      db.primary,
    );
    for (const r of rows) {
      const kid = envelopeKid(`${r.p}:AA==`);
      if (kid) entry.byKid[kid] = (entry.byKid[kid] ?? 0) + Number(r.n);
      else entry.unsealed += Number(r.n);
    }
  }
  return out;
}

/**
 * Start-up check: every sealed value's key must be in the ring. Fails with a ConfigError naming the
 * setting, so a wrong or missing master key never leads to regenerated secrets.
 */
export async function assertRingOpens(db: Database, ring: KeyRing): Promise<void> {
  const status = await sealedStatus(db);
  const missing: string[] = [];
  for (const [kind, s] of Object.entries(status))
    for (const [kid, n] of Object.entries(s.byKid))
      if (!ring.has(kid)) missing.push(`${n} ${kind} value(s) sealed with master key ${kid}`);
  if (!missing.length) return;
  const held = ring.kids.length ? `it holds key(s) ${ring.kids.join(', ')}` : 'VOD_MASTER_KEY is not set';
  throw new ConfigError([
    `VOD_MASTER_KEY: cannot open the secrets stored in the database (${missing.join('; ')}; ${held}). ` +
      'Set VOD_MASTER_KEY (or VOD_MASTER_KEY_PREVIOUS while rotating) to the key they were sealed with; ' +
      'nothing was changed.',
  ]);
}

export interface SealReport {
  /** Per kind: values (re)sealed under the current key, and those that could not be opened. */
  counts: Record<SealedKind, { sealed: number; failed: number }>;
  /** The first failures, `kind row: reason`. */
  failures: string[];
}

/**
 * Seals every value not yet under a master key (and, with `rotate`, every one under another key than the
 * current) under the current key, page by page in primary key order. Each row is updated only if it still
 * holds what was read (compare and set), so concurrent runs and writers are safe, and every row stays
 * readable with the ring at every moment: a run that stops midway is resumed by running it again.
 */
export async function sealAll(
  db: Database,
  box: SecretBox,
  opts: { rotate?: boolean; batch?: number; onBatch?: (kind: SealedKind, n: number) => void } = {},
): Promise<SealReport> {
  const report: SealReport = { counts: {} as SealReport['counts'], failures: [] };
  for (const c of SEALED_COLUMNS) report.counts[c.kind] ??= { sealed: 0, failed: 0 };
  if (!box.sealing) return report;
  for (const c of SEALED_COLUMNS) await sealColumn(db, box, c, report, opts);
  return report;
}

async function sealColumn(
  db: Database,
  box: SecretBox,
  c: SealedColumn,
  report: SealReport,
  opts: { rotate?: boolean; batch?: number; onBatch?: (kind: SealedKind, n: number) => void },
): Promise<void> {
  const kid = box.ring.current!.kid;
  const col = sql.ref(c.column);
  const pending = opts.rotate ? sql`${col} not like ${`v1:${kid}:%`}` : sql`${col} not like 'v1:%'`;
  const select = [c.id, c.column, ...(c.extra ? [c.extra] : [])].map((n) => sql.ref(n));
  let after: string | undefined;
  for (;;) {
    const page = after === undefined ? pending : sql`${pending} and ${sql.ref(c.id)} > ${after}`;
    const { rows } = await sql<Record<string, unknown>>`
      select ${sql.join(select)} from ${sql.table(c.table)} where ${whereOf(c, page)}
      order by ${sql.ref(c.id)} limit ${opts.batch ?? BATCH}`.execute(db.primary);
    if (!rows.length) return;
    let n = 0;
    for (const row of rows) {
      const stored = String(row[c.column]);
      if (!box.needsSealing(stored, !!opts.rotate)) continue;
      const ref = c.ref(row);
      let next: string;
      try {
        next = box.seal(c.kind, ref, box.open(c.kind, ref, stored));
      } catch (err) {
        report.counts[c.kind].failed++;
        if (report.failures.length < 20)
          report.failures.push(`${c.kind} ${c.table}.${c.column} ${row[c.id]}: ${(err as Error).message}`);
        continue;
      }
      const r = await sql`update ${sql.table(c.table)} set ${col} = ${next}
        where ${sql.ref(c.id)} = ${row[c.id]} and ${col} = ${stored}`.execute(db.primary);
      if (Number(r.numAffectedRows ?? 0) > 0) n++;
    }
    report.counts[c.kind].sealed += n;
    opts.onBatch?.(c.kind, n);
    after = String(rows[rows.length - 1]![c.id]);
  }
}
