const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 100_000;
const MAX_GOOD_KEYS = 10_000;

/**
 * Requests that fail authentication (no key, a malformed, unknown or revoked one), counted per client
 * address in fixed one-minute windows. Past `max` the address is answered 429 before any key lookup, so a
 * flood of bad keys costs no database reads; a key that authenticated recently on this node still passes
 * (a neighbour behind the same NAT does not lock a working client out). In memory, per node.
 */
export class FailedAuthLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  /** Digests of keys that authenticated, and until when they are trusted to bypass a blocked address. */
  private readonly good = new Map<string, number>();

  constructor(
    readonly max: number,
    private readonly windowMs = WINDOW_MS,
  ) {}

  /** Milliseconds until the address may try again, or 0 when it is not blocked. */
  blockedFor(address: string, now = Date.now()): number {
    const w = this.windows.get(address);
    if (!w || w.resetAt <= now) return 0;
    return w.count >= this.max ? w.resetAt - now : 0;
  }

  /** Counts one failed authentication of the address. */
  fail(address: string, now = Date.now()): void {
    const w = this.windows.get(address);
    if (w && w.resetAt > now) {
      w.count++;
      return;
    }
    if (this.windows.size >= MAX_ADDRESSES) this.prune(now);
    this.windows.set(address, { count: 1, resetAt: now + this.windowMs });
  }

  /** A key (its digest) authenticated: it may pass while its address is blocked, for one window. */
  trust(digest: string, now = Date.now()): void {
    if (this.good.size >= MAX_GOOD_KEYS && !this.good.has(digest)) this.good.clear();
    this.good.set(digest, now + this.windowMs);
  }

  trusted(digest: string, now = Date.now()): boolean {
    return (this.good.get(digest) ?? 0) > now;
  }

  private prune(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
    if (this.windows.size >= MAX_ADDRESSES) this.windows.clear();
  }
}
