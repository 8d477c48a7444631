// The regression gate of `npm run bench -- all --quick` (bench/quick.ts): how a figure is compared with its
// baseline, and how a round's ratio is taken, on the numbers the benchmarks write.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BASELINE_FILE, type Baseline, bestRatio, compare } from '../../bench/quick';

describe('bench all --quick', () => {
  it('fails a ratio more than the tolerance below its baseline, and a time more than that above it', () => {
    const ratio = (value: number) => ({ value, better: 'higher' as const, about: '' });
    const time = (value: number) => ({ value, better: 'lower' as const, about: '' });
    expect(compare(ratio(0.8), { value: 1 }, 0.3)).toEqual({ change: expect.closeTo(-0.2), failed: false });
    expect(compare(ratio(0.69), { value: 1 }, 0.3).failed).toBe(true);
    expect(compare(ratio(1.5), { value: 1 }, 0.3).failed).toBe(false);
    // A time 1.5× its baseline is a third slower than it: failed; 1.3× is not.
    expect(compare(time(1.5), { value: 1 }, 0.3).failed).toBe(true);
    expect(compare(time(1.3), { value: 1 }, 0.3).failed).toBe(false);
    // A figure that could not be measured fails; one without a baseline is reported, not failed.
    expect(compare(ratio(Number.NaN), { value: 1 }, 0.3).failed).toBe(true);
    expect(compare(ratio(0.1), undefined, 0.3)).toEqual({ change: Number.NaN, failed: false });
    // A figure marked not gated is compared and printed, never failed.
    expect(compare({ ...ratio(0.1), gated: false }, { value: 1 }, 0.3)).toEqual({
      change: expect.closeTo(-0.9),
      failed: false,
    });
  });

  it('takes the best round of a ratio measured side by side, round by round', () => {
    const ms = [
      { variant: 'ours', round: 1, mibPerSec: 100 },
      { variant: 'ref', round: 1, mibPerSec: 400 },
      { variant: 'ours', round: 2, mibPerSec: 150 },
      { variant: 'ref', round: 2, mibPerSec: 200 },
    ];
    expect(bestRatio(ms, 'ours', 'ref')).toBe(0.75); // round 2, not 150/400 across rounds
  });

  it('has a baseline for every figure it measures, from a real run', () => {
    const b = JSON.parse(readFileSync(BASELINE_FILE, 'utf8')) as Baseline;
    expect(Object.keys(b.figures).sort()).toEqual([
      'ladder.cpu',
      'ladder.wall',
      'playable.web-ready',
      'upload.curl',
      'upload.tus-js',
    ]);
    for (const f of Object.values(b.figures)) expect(f.value).toBeGreaterThan(0);
  });
});
