import { createHash } from 'node:crypto';
import type { Strategy } from '../../lib/rpc-strategies';
import type { ServiceInstance } from '../../ports/registry';

/**
 * Load-balancing strategies (the seed's "consumer picks a provider"):
 * - `random`: weighted random — an instance with weight 3 gets three times the calls of one with weight 1;
 * - `round_robin`: smooth weighted round robin (nginx's algorithm: weights respected, no bursts);
 * - `least_active`: the instance with the fewest calls in flight from this consumer, ties by weighted random;
 * - `consistent_hash`: a ring of virtual nodes keyed by the call's hash key (e.g. the video id), so one
 *   video's calls go to one instance, and an instance joining or leaving moves only its share of keys.
 */
export { STRATEGIES, type Strategy } from '../../lib/rpc-strategies';

const VIRTUAL_NODES = 160;

function hash32(text: string): number {
  return createHash('md5').update(text).digest().readUInt32BE(0);
}

export class Balancer {
  private readonly rrState = new Map<string, Map<string, number>>();
  private readonly rings = new Map<string, { signature: string; points: Uint32Array; owners: string[] }>();
  private readonly active = new Map<string, number>();
  constructor(private readonly random: () => number = Math.random) {}

  /** Calls in flight from this consumer to an instance (for least_active). */
  begin(id: string): void {
    this.active.set(id, (this.active.get(id) ?? 0) + 1);
  }
  end(id: string): void {
    const n = (this.active.get(id) ?? 1) - 1;
    if (n <= 0) this.active.delete(id);
    else this.active.set(id, n);
  }
  activeCalls(id: string): number {
    return this.active.get(id) ?? 0;
  }

  /**
   * Picks one of `instances` (already filtered to the usable ones) for `service`. `hashKey` is used by
   * consistent_hash (a call without one is spread at random).
   */
  pick(
    service: string,
    strategy: Strategy,
    instances: ServiceInstance[],
    hashKey?: string,
  ): ServiceInstance | undefined {
    if (instances.length === 0) return undefined;
    if (instances.length === 1) return instances[0];
    switch (strategy) {
      case 'random':
        return this.weightedRandom(instances);
      case 'round_robin':
        return this.roundRobin(service, instances);
      case 'least_active': {
        let min = Number.POSITIVE_INFINITY;
        let best: ServiceInstance[] = [];
        for (const i of instances) {
          const a = this.activeCalls(i.id);
          if (a < min) {
            min = a;
            best = [i];
          } else if (a === min) best.push(i);
        }
        return this.weightedRandom(best);
      }
      case 'consistent_hash':
        return hashKey === undefined
          ? this.weightedRandom(instances)
          : this.onRing(service, instances, hashKey);
    }
  }

  private weightedRandom(instances: ServiceInstance[]): ServiceInstance {
    const weights = instances.map((i) => Math.max(0, i.weight));
    const total = weights.reduce((a, b) => a + b, 0);
    if (total <= 0) return instances[Math.floor(this.random() * instances.length)]!;
    let r = this.random() * total;
    for (let k = 0; k < instances.length; k++) {
      r -= weights[k]!;
      if (r < 0) return instances[k]!;
    }
    return instances.at(-1)!;
  }

  private roundRobin(service: string, instances: ServiceInstance[]): ServiceInstance {
    let state = this.rrState.get(service);
    if (!state) {
      state = new Map();
      this.rrState.set(service, state);
    }
    let total = 0;
    let best: ServiceInstance | undefined;
    let bestCurrent = Number.NEGATIVE_INFINITY;
    for (const i of instances) {
      const w = Math.max(0, i.weight) || 0;
      total += w;
      const current = (state.get(i.id) ?? 0) + w;
      state.set(i.id, current);
      if (current > bestCurrent) {
        bestCurrent = current;
        best = i;
      }
    }
    if (total === 0) best = instances[0]!;
    state.set(best!.id, (state.get(best!.id) ?? 0) - total);
    // Forget instances that left, so a returning one starts fresh.
    if (state.size > instances.length * 2) {
      const live = new Set(instances.map((i) => i.id));
      for (const id of state.keys()) if (!live.has(id)) state.delete(id);
    }
    return best!;
  }

  private onRing(service: string, instances: ServiceInstance[], key: string): ServiceInstance {
    const signature = instances.map((i) => `${i.id}*${i.weight}`).join(',');
    let ring = this.rings.get(service);
    if (!ring || ring.signature !== signature) {
      const entries: Array<[number, string]> = [];
      for (const i of instances) {
        // Weight scales the share of the ring (weight 0 still gets one point so it can be reached).
        const n = Math.max(1, Math.round(VIRTUAL_NODES * Math.max(0, i.weight)));
        for (let v = 0; v < n; v++) entries.push([hash32(`${i.id}#${v}`), i.id]);
      }
      entries.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
      ring = {
        signature,
        points: Uint32Array.from(entries.map((e) => e[0])),
        owners: entries.map((e) => e[1]),
      };
      this.rings.set(service, ring);
    }
    const h = hash32(key);
    let lo = 0;
    let hi = ring.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    const owner = ring.owners[lo % ring.owners.length]!;
    return instances.find((i) => i.id === owner)!;
  }
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * Per-instance circuit breaker: `threshold` consecutive failures open it for `openMs`; then one trial call
 * is let through (half-open): success closes it, failure opens it again.
 */
export class CircuitBreaker {
  private readonly s = new Map<string, { failures: number; openUntil: number; trial: boolean }>();
  constructor(
    private readonly threshold = 5,
    private readonly openMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  state(id: string): BreakerState {
    const e = this.s.get(id);
    if (!e || e.openUntil === 0) return 'closed';
    return this.now() < e.openUntil ? 'open' : 'half_open';
  }

  /** Whether a call may go to the instance now (a half-open breaker admits one trial at a time). */
  allow(id: string): boolean {
    const e = this.s.get(id);
    if (!e || e.openUntil === 0) return true;
    if (this.now() < e.openUntil) return false;
    if (e.trial) return false;
    e.trial = true;
    return true;
  }

  success(id: string): void {
    this.s.delete(id);
  }

  failure(id: string): void {
    const e = this.s.get(id) ?? { failures: 0, openUntil: 0, trial: false };
    e.failures++;
    if (e.trial || e.failures >= this.threshold) {
      e.openUntil = this.now() + this.openMs;
      e.trial = false;
    }
    this.s.set(id, e);
  }
}
