/**
 * Read-your-writes over a lagging replica. Reads that may be slightly stale go to the replica (Database.read);
 * three things send them to the primary instead:
 * - the request itself writes (any method but GET/HEAD/OPTIONS): its reads must see its own writes;
 * - its tenant wrote within the replica's lag bound (`windowMs`), on this node or another (the mark is kept in
 *   the cache port too when that is shared, e.g. Redis): a client that creates and then lists sees what it made;
 * - the replica lags more than that bound, or has stopped replicating (ReplicaLagWatch).
 * The scope of a request is entered by the HTTP layer (http/request-log.ts) and carries its tenant once
 * authenticated (http/auth.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface ReadScope {
  /** Every read of this scope goes to the primary (a write request). */
  primary: boolean;
  tenantId?: string;
}

const scopes = new AsyncLocalStorage<ReadScope>();

export function withReadScope<T>(scope: ReadScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

export function readScope(): ReadScope | undefined {
  return scopes.getStore();
}

/** The part of the cache port RecentWrites uses (shared between nodes when it is Redis). */
export interface SharedMarks {
  readonly kind: string;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, opts?: { ttlMs?: number }): Promise<void>;
}

/** Which tenants wrote within the last `windowMs`. */
export class RecentWrites {
  private readonly local = new Map<string, number>();

  constructor(
    readonly windowMs: number,
    private shared?: SharedMarks,
    private readonly log?: { warn(obj: object, msg: string): void },
  ) {
    this.share(shared);
  }

  /** Keeps the marks in the cache port too, so other nodes see them (the in-memory cache is this process). */
  share(shared: SharedMarks | undefined): void {
    this.shared = shared?.kind === 'memory' ? undefined : shared;
  }

  mark(tenantId: string): void {
    const now = Date.now();
    this.local.set(tenantId, now + this.windowMs);
    if (this.local.size > 10_000) for (const [t, until] of this.local) if (until <= now) this.local.delete(t);
    this.shared?.set(`rw:${tenantId}`, '1', { ttlMs: this.windowMs }).catch((err: Error) => {
      this.log?.warn({ err: err.message }, 'read-your-writes mark not shared; other nodes may read stale');
    });
  }

  async recent(tenantId: string): Promise<boolean> {
    const until = this.local.get(tenantId);
    if (until !== undefined && until > Date.now()) return true;
    if (!this.shared) return false;
    try {
      return (await this.shared.get(`rw:${tenantId}`)) !== null;
    } catch {
      return true; // cannot tell: the primary is the safe side
    }
  }
}

/** Whether the current scope's reads must go to the primary. */
export async function mustReadPrimary(writes: RecentWrites): Promise<boolean> {
  const s = scopes.getStore();
  if (!s) return false;
  if (s.primary) return true;
  return s.tenantId ? writes.recent(s.tenantId) : false;
}
