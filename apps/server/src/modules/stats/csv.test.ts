import { describe, expect, it } from 'vitest';
import { toCsv } from './csv';
import { bucketOf, quantile } from './histogram';
import { rangeOf } from './range';

describe('statistics helpers', () => {
  it('writes RFC 4180 CSV: quotes, doubled quotes, empty nulls; a formula-looking text cell is neutralised', () => {
    const csv = toCsv(
      [
        { a: 'plain', b: 1.5, c: null },
        { a: 'with, comma', b: -2, c: 'say "hi"' },
        { a: '=HYPERLINK("http://x")', b: 0, c: '@SUM(A1)' },
      ],
      ['a', 'b', 'c'],
    );
    expect(csv.split('\r\n')).toEqual([
      'a,b,c',
      'plain,1.5,',
      '"with, comma",-2,"say ""hi"""',
      `"'=HYPERLINK(""http://x"")",0,"'@SUM(A1)"`,
      '',
    ]);
  });

  it('startup percentiles from the log histogram are within 2.5 % of the exact value', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 50 + i * 7);
    const h: Record<string, number> = {};
    for (const v of values) h[bucketOf(v)] = (h[bucketOf(v)] ?? 0) + 1;
    for (const q of [0.5, 0.95]) {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      const got = quantile(h, q)!;
      expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(0.025);
    }
    expect(quantile({}, 0.5)).toBeNull();
  });

  it('rounds a range out to whole periods, picks a granularity by its length, and bounds the points', () => {
    const now = Date.parse('2026-12-06T10:17:30Z');
    expect(rangeOf({}, now)).toMatchObject({
      from: '2026-12-05T10:00:00.000Z',
      to: '2026-12-06T11:00:00.000Z',
      granularity: 'hour',
    });
    expect(rangeOf({ from: '2026-12-06T09:00:10Z' }, now)).toMatchObject({
      from: '2026-12-06T09:00:00.000Z',
      to: '2026-12-06T10:18:00.000Z',
      granularity: 'minute',
    });
    expect(rangeOf({ from: '2026-11-01T00:00:00Z' }, now).granularity).toBe('day');
    expect(() => rangeOf({ from: '2026-01-01T00:00:00Z', granularity: 'minute' }, now)).toThrow(
      /at most 1500/,
    );
    expect(() => rangeOf({ from: '2026-12-07T00:00:00Z' }, now)).toThrow(/before/);
  });
});
