/** Statistics periods: the start of a minute, hour or day (UTC) as the ISO string stored in every table. */
export type Granularity = 'minute' | 'hour' | 'day';
export const GRANULARITIES: readonly Granularity[] = ['minute', 'hour', 'day'];

const MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export const periodMs = (g: Granularity) => MS[g];

/** The period an ISO time or epoch ms falls in. */
export function periodOf(g: Granularity, t: string | number): string {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  return new Date(Math.floor(ms / MS[g]) * MS[g]).toISOString();
}

/** The next period's start. */
export const nextPeriod = (g: Granularity, period: string) =>
  new Date(Date.parse(period) + MS[g]).toISOString();

/** Every period start in [from, to). */
export function periodsBetween(g: Granularity, fromMs: number, toMs: number): string[] {
  const out: string[] = [];
  for (let t = Math.floor(fromMs / MS[g]) * MS[g]; t < toMs; t += MS[g]) out.push(new Date(t).toISOString());
  return out;
}

/** The coarser period that contains a finer one. */
export const parentOf = (g: Granularity): Granularity | undefined =>
  g === 'minute' ? 'hour' : g === 'hour' ? 'day' : undefined;
