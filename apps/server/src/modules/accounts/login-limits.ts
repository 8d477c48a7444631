import { createHash } from 'node:crypto';
import { AppError } from '../../lib/errors';
import type { Cache } from '../../ports/cache/types';

export interface LoginLimitSettings {
  /** Failures of one account (email) in a window before it is locked; 0: no limit. */
  maxPerAccount: number;
  /** Failures from one client address in a window before it is refused; 0: no limit. */
  maxPerAddress: number;
  windowMs: number;
  lockoutMs: number;
}

const digest = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 32);

/**
 * Failed sign-ins, counted cluster-wide in the cache port: per account (its email, known or not, so a lock
 * tells nothing about whether it exists) and per client address, in fixed windows. Past a maximum the
 * account or address is locked for `lockoutMs`: sign-ins are refused with 429 and Retry-After, a right
 * password included. A successful sign-in clears the account's count.
 */
export class LoginLimiter {
  constructor(
    private readonly cache: Cache,
    private readonly s: LoginLimitSettings,
  ) {}

  private keys(kind: 'acct' | 'addr', subject: string) {
    const id = digest(subject);
    return { count: `login:${kind}:${id}:n`, lock: `login:${kind}:${id}:lock` };
  }

  /** Throws 429 when the account or the address is locked. */
  async check(email: string, address: string, now = Date.now()): Promise<void> {
    for (const [kind, subject, max] of [
      ['addr', address, this.s.maxPerAddress],
      ['acct', email, this.s.maxPerAccount],
    ] as const) {
      if (max === 0) continue;
      const until = Number((await this.cache.get(this.keys(kind, subject).lock)) ?? 0);
      if (until > now) {
        const s = Math.max(1, Math.ceil((until - now) / 1000));
        throw new AppError(
          'rate_limited',
          kind === 'acct'
            ? `Too many failed sign-ins for this account; retry in ${s} s`
            : `Too many failed sign-ins from this address; retry in ${s} s`,
          { headers: { 'retry-after': String(s) } },
        );
      }
    }
  }

  /** Counts one failure of the account and the address, locking either past its maximum. */
  async fail(email: string, address: string, now = Date.now()): Promise<void> {
    for (const [kind, subject, max] of [
      ['addr', address, this.s.maxPerAddress],
      ['acct', email, this.s.maxPerAccount],
    ] as const) {
      if (max === 0) continue;
      const k = this.keys(kind, subject);
      const n = await this.cache.incr(k.count, 1, { ttlMs: this.s.windowMs });
      if (n >= max) {
        await this.cache.set(k.lock, String(now + this.s.lockoutMs), { ttlMs: this.s.lockoutMs });
        await this.cache.delete(k.count);
      }
    }
  }

  /** A successful sign-in: the account's failures are forgotten (the address's are not). */
  async succeed(email: string): Promise<void> {
    await this.cache.delete(this.keys('acct', email).count);
  }
}
