import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema';
import { type Granularity, nextPeriod, parentOf, periodOf } from './periods';

/** A period that changed: `${tenant}|${video}|${period}` (video '' for a tenant's usage). */
export type Key = string;

export const num = (v: unknown) => Number(v ?? 0);
export const round3 = (n: number) => Math.round(n * 1000) / 1000;
export const split = (k: Key) => k.split('|') as [string, string, string];

export interface Group {
  tenant: string;
  /** The video, or '' for usage. */
  subject: string;
  /** The periods of the level to recompute. */
  periods: Set<string>;
  /** The range covering them: [from, to). */
  from: string;
  to: string;
}

/** Groups changed keys by tenant and subject at granularity `g`; also returns the parent level's keys. */
export function groupKeys(g: Granularity, keys: Set<Key>): { groups: Group[]; parents: Set<Key> } {
  const parents = new Set<Key>();
  const parent = parentOf(g);
  const by = new Map<string, Group>();
  for (const k of keys) {
    const [tenant, subject, period] = split(k);
    const id = `${tenant}|${subject}`;
    const e = by.get(id) ?? { tenant, subject, periods: new Set<string>(), from: '', to: '' };
    by.set(id, e);
    e.periods.add(periodOf(g, period));
    if (parent) parents.add(`${tenant}|${subject}|${periodOf(parent, period)}`);
  }
  const groups = [...by.values()];
  for (const e of groups) {
    const sorted = [...e.periods].sort();
    e.from = sorted[0]!;
    e.to = nextPeriod(g, sorted[sorted.length - 1]!);
  }
  return { groups, parents };
}

/** Replaces the rows of the given periods (delete, then insert the non-empty ones) in one transaction. */
export async function replaceRows<T extends 'stats_video' | 'stats_usage'>(
  db: Kysely<DB>,
  table: T,
  where: { tenant: string; video?: string; granularity: Granularity; periods: string[] },
  rows: DB[T][],
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    for (let i = 0; i < where.periods.length; i += 500) {
      let q = tx
        .deleteFrom(table as 'stats_video')
        .where('tenant_id', '=', where.tenant)
        .where('granularity', '=', where.granularity)
        .where('period', 'in', where.periods.slice(i, i + 500));
      if (where.video !== undefined) q = q.where('video_id', '=', where.video);
      await q.execute();
    }
    for (let i = 0; i < rows.length; i += 200)
      await tx
        .insertInto(table as 'stats_video')
        .values(rows.slice(i, i + 200) as DB['stats_video'][])
        .execute();
  });
}
