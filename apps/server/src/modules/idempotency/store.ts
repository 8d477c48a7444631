import { createHash } from 'node:crypto';
import type { Database } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';
import type { SecretBox } from '../../lib/secretbox';

/** How long a response is kept for its key. */
export const KEEP_MS = 24 * 3600_000;
/** A first request still `pending` after this is taken as dead (its process stopped): the key is free again. */
export const PENDING_STALE_MS = 10 * 60_000;
/** Responses larger than this (sealed) are not kept: the request succeeds without being replayable. */
export const MAX_STORED_CHARS = 60_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The row id of a principal's key: the key is never stored. */
export const keyId = (scope: string, key: string) => sha256(`${scope}\u0000${key}`);

/** What identifies "the same request": method, URL (path and query) and the parsed body. */
export const requestHash = (method: string, url: string, body: unknown) =>
  sha256(`${method}\n${url}\n${JSON.stringify(body ?? null)}`);

/** A stored response: status, the headers worth replaying, the body as sent. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type Claim =
  | { kind: 'claimed'; id: string }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'in_progress' }
  | { kind: 'reused' };

/**
 * The stored responses of Idempotency-Key requests (table `idempotency_keys`, migration 017). A request
 * claims its (scope, key) by inserting a `pending` row (the primary key decides between concurrent ones),
 * then completes it with its response, sealed, or releases it (a 5xx or 429: the client may retry).
 */
export class IdempotencyStore {
  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
  ) {}

  async claim(scope: string, key: string, hash: string, now = Date.now()): Promise<Claim> {
    const id = keyId(scope, key);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.db.primary
          .insertInto('idempotency_keys')
          .values({
            id,
            scope,
            request_hash: hash,
            state: 'pending',
            status: null,
            response: null,
            created_at: new Date(now).toISOString(),
            expires_at: new Date(now + KEEP_MS).toISOString(),
          })
          .execute();
        return { kind: 'claimed', id };
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      const row = await this.db.primary
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) continue; // released or swept meanwhile: claim again
      const expired = Date.parse(row.expires_at) <= now;
      const stale = row.state === 'pending' && Date.parse(row.created_at) + PENDING_STALE_MS <= now;
      if (expired || stale) {
        // Only the row as read: of two requests taking over one key, one deletes and the other finds it gone.
        await this.db.primary
          .deleteFrom('idempotency_keys')
          .where('id', '=', id)
          .where('created_at', '=', row.created_at)
          .execute();
        continue;
      }
      if (row.request_hash !== hash) return { kind: 'reused' };
      if (row.state !== 'done' || row.response === null) return { kind: 'in_progress' };
      const response = JSON.parse(
        this.box.openText('idempotent-response', id, row.response),
      ) as StoredResponse;
      return { kind: 'replay', response };
    }
    return { kind: 'in_progress' };
  }

  /** Keeps the response of a claimed key; false (and the key released) when it is too large to keep. */
  async complete(id: string, response: StoredResponse): Promise<boolean> {
    const sealed = this.box.seal('idempotent-response', id, JSON.stringify(response));
    if (sealed.length > MAX_STORED_CHARS) {
      await this.release(id);
      return false;
    }
    await this.db.primary
      .updateTable('idempotency_keys')
      .set({ state: 'done', status: response.status, response: sealed })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .execute();
    return true;
  }

  /** Frees a claimed key (the request failed in a way worth retrying). */
  async release(id: string): Promise<void> {
    await this.db.primary
      .deleteFrom('idempotency_keys')
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .execute();
  }

  /** Deletes expired rows in bounded batches; the number deleted. */
  async purge(now = Date.now(), batch = 1000, maxBatches = 100): Promise<number> {
    const cutoff = new Date(now).toISOString();
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const ids = (
        await this.db.primary
          .selectFrom('idempotency_keys')
          .select('id')
          .where('expires_at', '<=', cutoff)
          .limit(batch)
          .execute()
      ).map((r) => r.id);
      if (ids.length === 0) break;
      const r = await this.db.primary
        .deleteFrom('idempotency_keys')
        .where('id', 'in', ids)
        .executeTakeFirst();
      total += Number(r.numDeletedRows);
      if (ids.length < batch) break;
    }
    return total;
  }
}
