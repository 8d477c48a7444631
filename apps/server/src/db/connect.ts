import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  Kysely,
  type Dialect as KyselyDialect,
  MysqlDialect,
  PostgresDialect,
  SqliteDialect,
  sql,
} from 'kysely';
import { isConnectionError } from './errors';
import { MysqlNodeSet, type MysqlUrl, mysqlPoolUse, type NodePreference, parseMysqlUrl } from './mysql-hosts';
import { mustReadPrimary, RecentWrites } from './read-routing';
import { replicaLag } from './replica-lag';
import type { DB } from './schema';

export type DialectName = 'sqlite' | 'mysql' | 'postgres';

export interface DatabaseOptions {
  /** Bound on connecting and on each statement; a request never waits longer than this for the database. */
  timeoutMs?: number;
  poolSize?: number;
  replicaUrl?: string;
  /** How long a replica that failed is bypassed before it is tried again. */
  replicaRetryMs?: number;
  log?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
  /**
   * The replica serves reads only while it lags less than this (checked every `lagCheckMs`), and a tenant's
   * reads go to the primary for this long (+2 s) after each of its writes (read-your-writes). Default 5.
   */
  maxReplicaLagSec?: number;
  /** How often the replica's lag is measured; 0: never (the replica is trusted). Default 1000. */
  lagCheckMs?: number;
  /** A URL listing several MySQL nodes: pick the writable one (the primary's URL) or a read-only one (a replica's). */
  prefer?: NodePreference;
}

export interface Database {
  readonly dialect: DialectName;
  /** The primary: every write, and reads that must see the caller's own writes. */
  readonly primary: Kysely<DB>;
  /** Runs a read that may be slightly stale: on the replica when one is configured and reachable, else the primary. */
  read<T>(fn: (db: Kysely<DB>) => Promise<T>): Promise<T>;
  /** Which engine answered the last read() (for tests and diagnostics). */
  readonly lastReadFrom: 'primary' | 'replica';
  /** Tenants that wrote lately (read-your-writes): the HTTP layer marks them. */
  readonly recentWrites: RecentWrites;
  /** The replica's lag as last measured (null: not measured, or not measurable), and whether reads avoid it. */
  replicaState(): { lagSec: number | null; bypassed: boolean } | undefined;
  health(): Promise<{ ok: boolean; detail: string }>;
  /** Pool use and failed statements, per target, for /metrics (SQLite has no pool: no entry). */
  stats(): Array<{ target: 'primary' | 'replica'; pool?: PoolUse; queryErrors: number }>;
  close(): Promise<void>;
}

/** Connections of a pool: open (in use or idle), idle, and callers waiting for one. */
export interface PoolUse {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

/** What a Kysely instance tells about itself: its pool once made, and how many statements failed. */
interface Probe {
  pool?: () => PoolUse;
  queryErrors: number;
}

export function dialectOf(url: string): DialectName {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) return 'mysql';
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres';
  throw new Error(`Unsupported database URL ${redactUrl(url)}: use sqlite:, mysql:// or postgres://`);
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

export function sqliteFile(url: string): string {
  const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  return file === ':memory:' ? file : path.resolve(file);
}

function kyselyDialect(url: string, opts: DatabaseOptions, probe?: Probe): KyselyDialect {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const dialect = dialectOf(url);
  if (dialect === 'sqlite') {
    const file = sqliteFile(url);
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    // Drivers load on first use, so a deployment pays only for the engine it runs.
    return new SqliteDialect({
      database: async () => {
        const { default: BetterSqlite3 } = await import('better-sqlite3');
        const conn = new BetterSqlite3(file, { timeout: timeoutMs });
        conn.pragma('journal_mode = WAL');
        conn.pragma('synchronous = NORMAL');
        conn.pragma('foreign_keys = ON');
        return conn;
      },
    });
  }
  if (dialect === 'mysql') {
    let parsed: MysqlUrl;
    try {
      parsed = parseMysqlUrl(url);
    } catch (err) {
      throw new Error(`VOD_DB_URL ${redactUrl(url)} is not a valid mysql:// URL: ${(err as Error).message}`);
    }
    if (!parsed.database) throw new Error(`VOD_DB_URL ${redactUrl(url)} names no database (add /dbname)`);
    const options = {
      host: parsed.nodes[0]!.host,
      port: parsed.nodes[0]!.port,
      user: parsed.user,
      password: parsed.password,
      database: parsed.database,
      connectionLimit: opts.poolSize ?? 10,
      connectTimeout: timeoutMs,
      enableKeepAlive: true,
      charset: 'utf8mb4',
      timezone: 'Z',
    };
    return new MysqlDialect({
      pool: async () => {
        const mysql2 = await import('mysql2');
        if (parsed.nodes.length > 1) {
          // Several nodes: the writable one (or a replica) is found at connect time and after a failover.
          const set = new MysqlNodeSet(
            parsed.nodes,
            options,
            opts.prefer ?? 'writable',
            mysql2.createPool,
            opts.log,
          );
          if (probe)
            probe.pool = () => ({ ...set.use(), max: options.connectionLimit * parsed.nodes.length });
          return set;
        }
        const pool = mysql2.createPool(options);
        if (probe) probe.pool = () => ({ ...mysqlPoolUse(pool), max: options.connectionLimit });
        return pool;
      },
    });
  }
  return new PostgresDialect({
    pool: async () => {
      const { default: pg } = await import('pg');
      pg.types.setTypeParser(20, (v) => Number(v)); // int8 → number (sizes stay far below 2^53)
      const pool = new pg.Pool({
        connectionString: url,
        max: opts.poolSize ?? 10,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs * 3,
        statement_timeout: timeoutMs * 3,
        keepAlive: true,
      });
      // An idle client losing its connection must not crash the process; the pool replaces it.
      pool.on('error', (err) => opts.log?.warn({ err: err.message }, 'postgres idle client error'));
      // A checked-out client whose connection drops emits 'error' itself; unhandled, that would end the process.
      pool.on('connect', (client) => {
        client.on('error', (err) => opts.log?.warn({ err: err.message }, 'postgres connection lost'));
      });
      if (probe)
        probe.pool = () => ({
          total: pool.totalCount,
          idle: pool.idleCount,
          waiting: pool.waitingCount,
          max: opts.poolSize ?? 10,
        });
      return pool;
    },
  });
}

export function createKysely(url: string, opts: DatabaseOptions = {}, probe?: Probe): Kysely<DB> {
  return new Kysely<DB>({
    dialect: kyselyDialect(url, opts, probe),
    // Counts failed statements (constraint violations included: callers expect some) for /metrics.
    ...(probe && {
      log: (event) => {
        if (event.level === 'error') probe.queryErrors++;
      },
    }),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries an operation that failed because the database was unreachable, with exponential backoff. */
export async function withRetry<T>(fn: () => Promise<T>, attempts = 3, baseMs = 100): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isConnectionError(err)) throw err;
      await sleep(baseMs * 2 ** (i - 1));
    }
  }
}

export function createDatabase(url: string, opts: DatabaseOptions = {}): Database {
  const dialect = dialectOf(url);
  const probes: { primary: Probe; replica?: Probe } = { primary: { queryErrors: 0 } };
  const primary = createKysely(url, opts, probes.primary);
  if (opts.replicaUrl) probes.replica = { queryErrors: 0 };
  const replica = opts.replicaUrl
    ? createKysely(
        opts.replicaUrl,
        { ...opts, poolSize: opts.poolSize ?? 10, prefer: 'replica' },
        probes.replica,
      )
    : undefined;
  const replicaRetryMs = opts.replicaRetryMs ?? 10_000;
  let replicaDownUntil = 0;
  let lastReadFrom: 'primary' | 'replica' = 'primary';
  const maxLagSec = opts.maxReplicaLagSec ?? 5;
  const recentWrites = new RecentWrites((maxLagSec + 2) * 1000, undefined, opts.log);
  const lag = { lagSec: null as number | null, bypassed: false };
  let lagTimer: NodeJS.Timeout | undefined;
  if (replica && dialect !== 'sqlite' && (opts.lagCheckMs ?? 1000) > 0) {
    let checking = false;
    lagTimer = setInterval(() => {
      if (checking) return;
      checking = true;
      replicaLag(replica, dialect)
        .then((r) => {
          lag.lagSec = 'lagSec' in r ? r.lagSec : null;
          const bypass = 'lagSec' in r ? r.lagSec > maxLagSec : r.stopped === true;
          if (bypass !== lag.bypassed)
            opts.log?.warn(
              { lagSec: lag.lagSec, maxLagSec },
              bypass
                ? 'database replica lags or stopped replicating; reading from the primary'
                : 'database replica caught up; reading from it again',
            );
          lag.bypassed = bypass;
        })
        .catch(() => {
          lag.lagSec = null; // unreachable: read() finds out and bypasses it for replicaRetryMs
        })
        .finally(() => {
          checking = false;
        });
    }, opts.lagCheckMs ?? 1000);
    lagTimer.unref();
  }

  return {
    dialect,
    primary,
    recentWrites,
    get lastReadFrom() {
      return lastReadFrom;
    },
    replicaState() {
      return replica ? { ...lag } : undefined;
    },
    async read<T>(fn: (db: Kysely<DB>) => Promise<T>): Promise<T> {
      if (
        replica &&
        Date.now() >= replicaDownUntil &&
        !lag.bypassed &&
        !(await mustReadPrimary(recentWrites))
      ) {
        try {
          const result = await fn(replica);
          lastReadFrom = 'replica';
          return result;
        } catch (err) {
          if (!isConnectionError(err)) throw err;
          replicaDownUntil = Date.now() + replicaRetryMs;
          opts.log?.warn(
            { err: (err as Error).message },
            'database replica unreachable; reading from the primary',
          );
        }
      }
      const result = await withRetry(() => fn(primary));
      lastReadFrom = 'primary';
      return result;
    },
    async health() {
      const started = Date.now();
      try {
        await sql`select 1`.execute(primary);
      } catch (err) {
        return { ok: false, detail: `${dialect} primary unreachable: ${(err as Error).message}` };
      }
      let detail = `${dialect} primary ok in ${Date.now() - started} ms`;
      if (replica) {
        try {
          await sql`select 1`.execute(replica);
          detail += '; replica ok';
        } catch (err) {
          return {
            ok: true,
            detail: `${detail}; replica DOWN (${(err as Error).message}), reads use the primary`,
          };
        }
      }
      return { ok: true, detail };
    },
    stats() {
      return (['primary', 'replica'] as const).flatMap((target) => {
        const p = probes[target];
        return p ? [{ target, pool: p.pool?.(), queryErrors: p.queryErrors }] : [];
      });
    },
    async close() {
      clearInterval(lagTimer);
      await Promise.allSettled([primary.destroy(), replica?.destroy()]);
    },
  };
}
