import { describe, expect, it } from 'vitest';
import { limiter } from './limiter';

describe('limiter', () => {
  it('runs `parallel` at once, queues `queue` more in order and refuses the rest at once', async () => {
    const run = limiter(2, 2, () => new Error('full'));
    const gates: Array<() => void> = [];
    const order: number[] = [];
    const task = (n: number) => () =>
      new Promise<number>((resolve) => {
        order.push(n);
        gates.push(() => resolve(n));
      });
    const accepted = [1, 2, 3, 4].map((n) => run(task(n)));
    await expect(run(task(5))).rejects.toThrow('full');
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([1, 2]);
    expect([run.running, run.waiting]).toEqual([2, 2]);
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([1, 2, 3]);
    while (gates.length) {
      gates.shift()!();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await Promise.all(accepted)).toEqual([1, 2, 3, 4]);
    expect([run.running, run.waiting]).toEqual([0, 0]);
  });

  it('a failing task frees its slot', async () => {
    const run = limiter(1, 0, () => new Error('full'));
    await expect(run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(run(async () => 7)).resolves.toBe(7);
    expect(run.running).toBe(0);
  });
});
