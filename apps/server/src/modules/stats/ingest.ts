import type { Logger } from 'pino';
import type { Database } from '../../db/connect';
import { skippingDuplicates } from '../../db/insert';
import type { BeaconsTable } from '../../db/schema';
import type { Cache } from '../../ports/cache';

/** The ingest is full: the database has been away long enough for the buffer to fill. Answer 503. */
export class BeaconBufferFull extends Error {
  constructor() {
    super('The beacon buffer is full; retry later');
    this.name = 'BeaconBufferFull';
  }
}

export interface BeaconIngestOptions {
  db: Database;
  log: Logger;
  /** The cluster's cache: a Redis cache makes the buffer shared and durable; memory keeps it on this node. */
  cache: Cache;
  flushMs: number;
  maxBuffered: number;
  /** Rows per INSERT. */
  batchSize?: number;
}

/**
 * Where accepted beacons wait until they are written to the database in batches, never a write per request.
 *
 * - One node (memory cache): an array in this process, flushed every `flushMs`. A crash of the node loses the
 *   beacons accepted since the last flush (at most `flushMs`, 1 s by default); a clean shutdown flushes.
 * - A cluster (Redis cache): the request is answered once its beacons are in a Redis list, so a crash of the
 *   node that accepted them loses nothing; every node flushes the list under a cluster-wide lock (one at a time),
 *   reading a batch, inserting it, then dropping it from the list. An insert that fails leaves the batch in the
 *   list for the next flush; a flusher that dies between the insert and the drop makes the next one insert the
 *   same rows again, which the primary key turns into no-ops (insert-or-ignore by beacon id): exactly once.
 *   What Redis itself keeps across its own restart is Redis's persistence setting.
 *
 * Past `maxBuffered` waiting beacons (the database has been away that long) new ones are refused with
 * BeaconBufferFull (503 and Retry-After to the player), never silently dropped.
 */
export class BeaconIngest {
  private readonly memory: BeaconsTable[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<number> | undefined;
  private readonly batchSize: number;
  /** Cluster mode: the list was over the bound at the last push; refuse until a flush shrinks it. */
  private overloaded = false;
  /** Beacons written to the database by this node (tests and the benchmark count them back). */
  written = 0;
  static readonly LIST = 'stats:beacons';
  static readonly LOCK = 'stats:beacons-flush';

  constructor(private readonly o: BeaconIngestOptions) {
    this.batchSize = o.batchSize ?? 1000;
    this.timer = setInterval(() => void this.flush().catch(() => {}), o.flushMs);
    this.timer.unref();
  }

  get shared(): boolean {
    return this.o.cache.kind === 'redis';
  }

  /** Buffers the rows (all or none); throws BeaconBufferFull past the bound. */
  async accept(rows: BeaconsTable[]): Promise<void> {
    if (rows.length === 0) return;
    if (!this.shared) {
      if (this.memory.length + rows.length > this.o.maxBuffered) throw new BeaconBufferFull();
      for (const r of rows) this.memory.push(r);
      return;
    }
    if (this.overloaded) throw new BeaconBufferFull();
    const length = await this.o.cache.listPush(
      BeaconIngest.LIST,
      rows.map((r) => JSON.stringify(r)),
    );
    if (length > this.o.maxBuffered) this.overloaded = true;
  }

  /** Beacons waiting (this node's memory, or the cluster's list). */
  async pending(): Promise<number> {
    return this.shared ? this.o.cache.listLength(BeaconIngest.LIST) : this.memory.length;
  }

  /** Writes what waits; returns the rows written. Concurrent calls share one run. */
  flush(): Promise<number> {
    if (!this.flushing)
      this.flushing = (this.shared ? this.flushShared() : this.flushMemory()).finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private async flushMemory(): Promise<number> {
    let n = 0;
    while (this.memory.length > 0) {
      const batch = this.memory.slice(0, this.batchSize);
      try {
        await insertBeacons(this.o.db, batch);
      } catch (err) {
        this.o.log.warn(
          { err: (err as Error).message, waiting: this.memory.length },
          'beacons not written; kept for the next flush',
        );
        break;
      }
      this.memory.splice(0, batch.length);
      n += batch.length;
    }
    this.written += n;
    return n;
  }

  private async flushShared(): Promise<number> {
    const cache = this.o.cache;
    const lock = await cache.acquireLock(BeaconIngest.LOCK, { leaseMs: 30_000 });
    if (!lock) return 0; // another node is flushing
    let n = 0;
    try {
      for (let round = 0; round < 200; round++) {
        const raw = await cache.listHead(BeaconIngest.LIST, this.batchSize);
        if (raw.length === 0) break;
        const rows: BeaconsTable[] = [];
        for (const s of raw) {
          try {
            rows.push(JSON.parse(s) as BeaconsTable);
          } catch {
            // not ours: skipped (and dropped with the batch)
          }
        }
        try {
          await insertBeacons(this.o.db, rows);
        } catch (err) {
          this.o.log.warn({ err: (err as Error).message }, 'beacons not written; left in the buffer');
          break;
        }
        await cache.listDropHead(BeaconIngest.LIST, raw.length);
        n += rows.length;
        if (round % 10 === 9) await lock.renew();
        if (raw.length < this.batchSize) break;
      }
      if (this.overloaded && (await cache.listLength(BeaconIngest.LIST)) <= this.o.maxBuffered)
        this.overloaded = false;
    } finally {
      await lock.release().catch(() => false);
    }
    this.written += n;
    return n;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch((err) =>
      this.o.log.warn({ err: (err as Error).message }, 'beacons not written at shutdown'),
    );
  }
}

/** Inserts beacon rows, ignoring ids already there (a batch written twice is written once). */
export async function insertBeacons(db: Database, rows: BeaconsTable[]): Promise<void> {
  if (rows.length === 0) return;
  const ingestedAt = new Date().toISOString();
  const values = rows.map((r) => ({ ...r, ingested_at: ingestedAt }));
  const q = db.primary.insertInto('beacons').values(values);
  await skippingDuplicates(db.dialect, q).execute();
}
