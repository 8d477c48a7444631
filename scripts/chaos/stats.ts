// What a chaos run counts while it runs: the phase every request falls into, its outcome, and each
// player's windows of nothing but failures. Plus the seeded random numbers every choice is made with.

/** A seeded PRNG (mulberry32): the same seed gives the same schedule, clips and choices. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** In [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hi: number): number {
    return Math.floor(this.between(lo, hi + 1 - 1e-9));
  }
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)]!;
  }
  /** An independent generator for one client, so clients do not shift each other's choices. */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 2 ** 32));
  }
}

export type RequestKind = 'api' | 'tus' | 'play' | 'verify';

export interface PhaseCounts {
  requests: number;
  /** 5xx answers, by kind. */
  fiveXX: Partial<Record<RequestKind, number>>;
  /** No answer at all (connection refused or reset, timeout), by kind. */
  noAnswer: Partial<Record<RequestKind, number>>;
  /** Seconds spent in this phase. */
  seconds: number;
}

export interface Outage {
  player: number;
  startedAt: number;
  endedAt: number;
  /** The phase the first failed request fell into. */
  phase: string;
  failures: number;
}

/** Phases, request outcomes per phase, and the players' outage windows. */
export class Recorder {
  readonly t0 = Date.now();
  private current = 'steady';
  private since = Date.now();
  readonly phases = new Map<string, PhaseCounts>();
  readonly outages: Outage[] = [];
  private readonly failingSince = new Map<number, { at: number; phase: string; failures: number }>();
  readonly timeline: { at: number; phase: string }[] = [{ at: 0, phase: 'steady' }];

  get phase(): string {
    return this.current;
  }

  private counts(phase: string): PhaseCounts {
    let c = this.phases.get(phase);
    if (!c) {
      c = { requests: 0, fiveXX: {}, noAnswer: {}, seconds: 0 };
      this.phases.set(phase, c);
    }
    return c;
  }

  setPhase(phase: string): void {
    const now = Date.now();
    this.counts(this.current).seconds += (now - this.since) / 1000;
    this.current = phase;
    this.since = now;
    this.counts(phase);
    this.timeline.push({ at: (now - this.t0) / 1000, phase });
  }

  /** Closes the current phase's time (call once at the end). */
  finish(): void {
    this.setPhase(this.current);
  }

  /** One request's outcome: an HTTP status, or undefined when nothing answered. */
  request(kind: RequestKind, status: number | undefined): void {
    const c = this.counts(this.current);
    c.requests++;
    if (status === undefined) c.noAnswer[kind] = (c.noAnswer[kind] ?? 0) + 1;
    else if (status >= 500) c.fiveXX[kind] = (c.fiveXX[kind] ?? 0) + 1;
  }

  /** A player's request succeeded or failed: failures until the next success make one outage window. */
  playerResult(player: number, ok: boolean): void {
    const now = Date.now();
    const open = this.failingSince.get(player);
    if (ok) {
      if (open) {
        this.outages.push({
          player,
          startedAt: (open.at - this.t0) / 1000,
          endedAt: (now - this.t0) / 1000,
          phase: open.phase,
          failures: open.failures,
        });
        this.failingSince.delete(player);
      }
    } else if (open) open.failures++;
    else this.failingSince.set(player, { at: now, phase: this.current, failures: 1 });
  }

  /** Closes outage windows still open (a player that never recovered) at the end of the load. */
  closeOutages(): void {
    const now = Date.now();
    for (const [player, open] of this.failingSince)
      this.outages.push({
        player,
        startedAt: (open.at - this.t0) / 1000,
        endedAt: (now - this.t0) / 1000,
        phase: `${open.phase} (never recovered)`,
        failures: open.failures,
      });
    this.failingSince.clear();
  }

  worstOutage(): Outage | undefined {
    return [...this.outages].sort((a, b) => b.endedAt - b.startedAt - (a.endedAt - a.startedAt))[0];
  }
}

/**
 * fetch with a timeout, counted in the recorder under `kind`; answers undefined (and counts "no answer")
 * when nothing answered.
 */
export async function timedFetch(
  rec: Recorder,
  kind: RequestKind,
  url: string,
  init: RequestInit = {},
  timeoutMs = 30_000,
): Promise<Response | undefined> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    rec.request(kind, res.status);
    return res;
  } catch {
    rec.request(kind, undefined);
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
