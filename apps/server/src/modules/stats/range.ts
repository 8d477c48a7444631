import type { Granularity } from '@vodcloud/contracts';
import { AppError } from '../../lib/errors';
import { periodMs } from './periods';

const MAX_POINTS = 1500;
const HOUR = 3_600_000;
export const DAY = 86_400_000;

export interface Range {
  from: string;
  to: string;
  fromMs: number;
  toMs: number;
  granularity: Granularity;
}

/** The query's range: default the last 24 h; granularity by its length; whole periods; at most 1,500 of them. */
export function rangeOf(
  q: { from?: string; to?: string; granularity?: Granularity },
  now = Date.now(),
): Range {
  const toRaw = q.to ? Date.parse(q.to) : now;
  const fromRaw = q.from ? Date.parse(q.from) : toRaw - DAY;
  if (!(fromRaw < toRaw)) throw new AppError('validation_failed', '`from` must be before `to`');
  const span = toRaw - fromRaw;
  const g: Granularity = q.granularity ?? (span <= 3 * HOUR ? 'minute' : span <= 7 * DAY ? 'hour' : 'day');
  const p = periodMs(g);
  const fromMs = Math.floor(fromRaw / p) * p;
  const toMs = Math.ceil(toRaw / p) * p;
  const points = (toMs - fromMs) / p;
  if (points > MAX_POINTS)
    throw new AppError(
      'validation_failed',
      `The range holds ${points} ${g}s; at most ${MAX_POINTS}: use a coarser granularity or a shorter range`,
    );
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    fromMs,
    toMs,
    granularity: g,
  };
}
