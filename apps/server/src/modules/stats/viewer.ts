import { createHmac, randomBytes } from 'node:crypto';
import Bowser from 'bowser';
import type { Database } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';

const SALT_PREFIX = 'stats.viewer-salt.';
export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Unique viewers without storing who they are: a viewer is HMAC(salt of the day, address + user agent). The salt
 * is random, one per UTC day, shared by the cluster through the settings table (the first node to need it
 * creates it), and deleted once its day is over (kept one day more for late beacons): after that nobody,
 * the operator included, can link a hash back to an address or link one viewer's hashes across days.
 */
export class ViewerHasher {
  private readonly salts = new Map<string, Promise<Buffer>>();

  constructor(private readonly db: Database) {}

  async hash(address: string, userAgent: string, now = Date.now()): Promise<string> {
    const salt = await this.salt(dayOf(now));
    return createHmac('sha256', salt).update(`${address}\n${userAgent}`).digest('hex').slice(0, 32);
  }

  private salt(day: string): Promise<Buffer> {
    let p = this.salts.get(day);
    if (!p) {
      p = this.loadOrCreate(day);
      p.catch(() => this.salts.delete(day));
      for (const k of this.salts.keys()) if (k < day) this.salts.delete(k);
      this.salts.set(day, p);
    }
    return p;
  }

  private async loadOrCreate(day: string): Promise<Buffer> {
    const name = SALT_PREFIX + day;
    const read = async () =>
      (
        await this.db.primary
          .selectFrom('settings')
          .select('value')
          .where('name', '=', name)
          .executeTakeFirst()
      )?.value;
    const have = await read();
    if (have) return Buffer.from(have, 'base64');
    try {
      await this.db.primary
        .insertInto('settings')
        .values({ name, value: randomBytes(32).toString('base64') })
        .execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const value = await read();
    if (!value) throw new Error('viewer salt not stored');
    return Buffer.from(value, 'base64');
  }

  /** Deletes the salts of days before yesterday (run by the roll-up): their hashes become unlinkable. */
  async rotate(now = Date.now()): Promise<number> {
    const keep = SALT_PREFIX + dayOf(now - 86_400_000);
    const r = await this.db.primary
      .deleteFrom('settings')
      .where('name', 'like', `${SALT_PREFIX}%`)
      .where('name', '<', keep)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

export interface Client {
  browser: string | null;
  os: string | null;
  device: string | null;
}

/** Browser, operating system and device class from a user agent (bowser), or nulls. */
export function clientOf(userAgent: string | null | undefined): Client {
  if (!userAgent) return { browser: null, os: null, device: null };
  try {
    const p = Bowser.parse(userAgent);
    const cut = (s: string | undefined, n: number) => (s ? s.slice(0, n) : null);
    return {
      browser: cut(p.browser.name, 40),
      os: cut(p.os.name, 40),
      device: cut(p.platform.type ?? (p.browser.name ? 'desktop' : undefined), 20),
    };
  } catch {
    return { browser: null, os: null, device: null };
  }
}
