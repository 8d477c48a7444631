import { describe, expect, it } from 'vitest';
import type { ServiceInstance } from '../../ports/registry';
import { Balancer, CircuitBreaker } from './balance';

const inst = (id: string, weight = 1): ServiceInstance => ({
  service: 'rpc-test',
  id,
  host: '127.0.0.1',
  port: 1,
  roles: [],
  weight,
  metadata: {},
  load: 0,
  startedAt: new Date(0).toISOString(),
});

const count = (picks: Array<ServiceInstance | undefined>) => {
  const out: Record<string, number> = {};
  for (const p of picks) out[p!.id] = (out[p!.id] ?? 0) + 1;
  return out;
};

describe('load-balancing strategies', () => {
  const three = [inst('a', 1), inst('b', 2), inst('c', 3)];

  it('weighted random respects weights', () => {
    const b = new Balancer();
    const n = 60_000;
    const c = count(Array.from({ length: n }, () => b.pick('s', 'random', three)));
    // Expected 1:2:3 → 10k, 20k, 30k; allow 3 % of n.
    expect(Math.abs(c.a! - 10_000)).toBeLessThan(1800);
    expect(Math.abs(c.b! - 20_000)).toBeLessThan(1800);
    expect(Math.abs(c.c! - 30_000)).toBeLessThan(1800);
  });

  it('weight 0 takes an instance out of weighted picks', () => {
    const b = new Balancer();
    const c = count(Array.from({ length: 2000 }, () => b.pick('s', 'random', [inst('a', 0), inst('b', 1)])));
    expect(c.a).toBeUndefined();
    expect(c.b).toBe(2000);
  });

  it('round robin is exact and smooth (weights 1:2:3 in every window of 6)', () => {
    const b = new Balancer();
    const picks = Array.from({ length: 600 }, () => b.pick('s', 'round_robin', three)!.id);
    for (let w = 0; w < 600; w += 6) {
      const c = count(picks.slice(w, w + 6).map((id) => inst(id)));
      expect(c).toEqual({ a: 1, b: 2, c: 3 });
    }
    // smooth: never the same instance three times in a row
    for (let i = 2; i < picks.length; i++)
      expect(picks[i] === picks[i - 1] && picks[i] === picks[i - 2]).toBe(false);
    // equal weights: strict rotation
    const eq = new Balancer();
    const two = [inst('x'), inst('y')];
    expect(Array.from({ length: 6 }, () => eq.pick('t', 'round_robin', two)!.id)).toEqual([
      'x',
      'y',
      'x',
      'y',
      'x',
      'y',
    ]);
  });

  it('least active picks the instance with the fewest calls in flight', () => {
    const b = new Balancer();
    const list = [inst('a'), inst('b'), inst('c')];
    b.begin('a');
    b.begin('a');
    b.begin('b');
    for (let i = 0; i < 50; i++) expect(b.pick('s', 'least_active', list)!.id).toBe('c');
    b.begin('c');
    b.begin('c');
    for (let i = 0; i < 50; i++) expect(b.pick('s', 'least_active', list)!.id).toBe('b');
    b.end('a');
    b.end('a');
    expect(b.activeCalls('a')).toBe(0);
    for (let i = 0; i < 50; i++) expect(b.pick('s', 'least_active', list)!.id).toBe('a');
  });

  it('consistent hash: one key → one instance; keys spread; an unrelated instance joining moves only its share', () => {
    const b = new Balancer();
    const list = [inst('w1'), inst('w2'), inst('w3')];
    const keys = Array.from({ length: 3000 }, (_, i) => `video-${i}`);
    const before = new Map(keys.map((k) => [k, b.pick('s', 'consistent_hash', list, k)!.id]));
    for (const k of keys.slice(0, 100))
      expect(b.pick('s', 'consistent_hash', list, k)!.id).toBe(before.get(k));
    const spread = count(keys.map((k) => inst(before.get(k)!)));
    for (const id of ['w1', 'w2', 'w3']) expect(spread[id]!).toBeGreaterThan(600); // ~1000 each
    // w4 joins: keys either stay or move to w4; none moves between the old three.
    const after = [...list, inst('w4')];
    let moved = 0;
    for (const k of keys) {
      const now = b.pick('s', 'consistent_hash', after, k)!.id;
      if (now !== before.get(k)) {
        expect(now).toBe('w4');
        moved++;
      }
    }
    expect(moved).toBeGreaterThan(400); // ~750 expected (a quarter)
    expect(moved).toBeLessThan(1100);
    // w2 leaves: only its keys move.
    const without = list.filter((i) => i.id !== 'w2');
    for (const k of keys) {
      const now = b.pick('s', 'consistent_hash', without, k)!.id;
      if (before.get(k) !== 'w2') expect(now).toBe(before.get(k));
    }
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures, lets one trial through after the open time, closes on success', () => {
    let now = 1000;
    const cb = new CircuitBreaker(3, 5000, () => now);
    cb.failure('a');
    cb.failure('a');
    expect(cb.allow('a')).toBe(true);
    cb.failure('a');
    expect(cb.state('a')).toBe('open');
    expect(cb.allow('a')).toBe(false);
    now += 5001;
    expect(cb.state('a')).toBe('half_open');
    expect(cb.allow('a')).toBe(true); // the trial
    expect(cb.allow('a')).toBe(false); // only one at a time
    cb.failure('a'); // trial failed: open again
    expect(cb.state('a')).toBe('open');
    now += 5001;
    expect(cb.allow('a')).toBe(true);
    cb.success('a');
    expect(cb.state('a')).toBe('closed');
    expect(cb.allow('a')).toBe(true);
    // a success resets the count
    cb.failure('b');
    cb.failure('b');
    cb.success('b');
    cb.failure('b');
    cb.failure('b');
    expect(cb.state('b')).toBe('closed');
  });
});
