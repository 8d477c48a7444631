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
import type { DB } from './schema';

export type DialectName = 'sqlite' | 'mysql' | 'postgres';

export interface DatabaseOptions {
  /** Bound on connecting and on each statement; a request never waits longer than this for the database. */
  timeoutMs?: number;
  poolSize?: number;
  replicaUrl?: string;
  /** How long a replica that failed is bypassed before it is tried again. */
  replicaRetryMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

export interface Database {
  readonly dialect: DialectName;
  /** The primary: every write, and reads that must see the caller's own writes. */
  readonly primary: Kysely<DB>;
  /** Runs a read that may be slightly stale: on the replica when one is configured and reachable, else the primary. */
  read<T>(fn: (db: Kysely<DB>) => Promise<T>): Promise<T>;
  /** Which engine answered the last read() (for tests and diagnostics). */
  readonly lastReadFrom: 'primary' | 'replica';
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

/** mysql2's pool keeps its counts in fields it does not document (stable since mysql2 1.x). */
interface Mysql2PoolInternals {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
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
    const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
    if (u.pathname.length <= 1)
      throw new Error(`VOD_DB_URL ${redactUrl(url)} names no database (add /dbname)`);
    const options = {
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username || 'root'),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.slice(1)),
      connectionLimit: opts.poolSize ?? 10,
      connectTimeout: timeoutMs,
      enableKeepAlive: true,
      charset: 'utf8mb4',
      timezone: 'Z',
    };
    return new MysqlDialect({
      pool: async () => {
        const pool = (await import('mysql2')).createPool(options);
        const p = pool as unknown as Mysql2PoolInternals;
        if (probe)
          probe.pool = () => ({
            total: p._allConnections?.length ?? 0,
            idle: p._freeConnections?.length ?? 0,
            waiting: p._connectionQueue?.length ?? 0,
            max: options.connectionLimit,
          });
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
    ? createKysely(opts.replicaUrl, { ...opts, poolSize: opts.poolSize ?? 10 }, probes.replica)
    : undefined;
  const replicaRetryMs = opts.replicaRetryMs ?? 10_000;
  let replicaDownUntil = 0;
  let lastReadFrom: 'primary' | 'replica' = 'primary';

  return {
    dialect,
    primary,
    get lastReadFrom() {
      return lastReadFrom;
    },
    async read<T>(fn: (db: Kysely<DB>) => Promise<T>): Promise<T> {
      if (replica && Date.now() >= replicaDownUntil) {
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
      await Promise.allSettled([primary.destroy(), replica?.destroy()]);
    },
  };
}
