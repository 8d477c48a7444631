/**
 * A MySQL/MariaDB URL that lists several nodes (`mysql://u:p@h1:3306,h2:3306/db`): the pool behind the primary
 * connection finds the writable node (`@@read_only = 0`) when it starts and again whenever a statement fails
 * because its node went away or turned read-only (a failover fenced it), as libpq's
 * `target_session_attrs=read-write` does at connect time. Running nodes follow a promotion without a restart.
 *
 * While no node is writable (the primary died, nobody promoted the replica yet) the pool hands out connections
 * to a read-only node: reads go on, writes fail with the server's read-only error, which the API answers with
 * 503 `unavailable` + Retry-After. It looks for a writable node again every `recheckMs` meanwhile.
 *
 * The replica pool (`prefer: 'replica'`) picks a read-only node, or a writable one when no replica answers.
 * Written by hand: mysql2's PoolCluster balances over nodes but knows nothing of read_only, and Kysely takes one
 * pool; this is the small piece between them.
 */

import type { MysqlPool, MysqlPoolConnection } from 'kysely';
import type { Pool, PoolConnection, PoolOptions } from 'mysql2';
import { isConnectionError, isReadOnlyError } from './errors';

export interface MysqlNode {
  host: string;
  port: number;
}

export interface MysqlUrl {
  nodes: MysqlNode[];
  user: string;
  password: string;
  database: string;
}

const URL_RE = /^(?:mysql|mariadb):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(?:\/([^?#]*))?(?:\?.*)?$/;

/** Parses a mysql:// or mariadb:// URL whose host part may list several `host:port` nodes, comma-separated. */
export function parseMysqlUrl(url: string): MysqlUrl {
  const m = URL_RE.exec(url);
  if (!m) throw new Error('not a mysql:// URL');
  const nodes = m[3]!.split(',').map((hp) => {
    // host, host:port, [ipv6] or [ipv6]:port
    const n = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(hp);
    const port = n?.[3] === undefined ? 3306 : Number(n[3]);
    if (!n || port < 1 || port > 65535) throw new Error(`bad node "${hp}" (host:port)`);
    return { host: (n[1] ?? n[2])!, port };
  });
  return {
    nodes,
    user: decodeURIComponent(m[1] || 'root'),
    password: decodeURIComponent(m[2] ?? ''),
    database: decodeURIComponent(m[4] ?? ''),
  };
}

export type NodePreference = 'writable' | 'replica';

export interface NodeSetLog {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

type CreatePool = (opts: PoolOptions) => Pool;

interface Choice {
  index: number;
  /** The node is not what was preferred (no writable node, or no replica): look again after this time. */
  recheckAt: number;
}

/** A pool over several nodes for Kysely's MysqlDialect; see the top of this file. */
export class MysqlNodeSet implements MysqlPool {
  private readonly pools: Pool[];
  private choice?: Choice;
  private resolving?: Promise<Choice>;
  private lastLogged?: { index: number; preferred: boolean };
  private readonly wrapped = new WeakMap<PoolConnection, MysqlPoolConnection>();

  constructor(
    readonly nodes: MysqlNode[],
    base: PoolOptions,
    private readonly prefer: NodePreference,
    createPool: CreatePool,
    private readonly log?: NodeSetLog,
    private readonly recheckMs = 1000,
  ) {
    this.pools = nodes.map((n) => createPool({ ...base, host: n.host, port: n.port }));
  }

  /** The node connections go to now, as host:port (undefined before the first one). */
  get current(): string | undefined {
    const c = this.choice;
    return c ? `${this.nodes[c.index]!.host}:${this.nodes[c.index]!.port}` : undefined;
  }

  /**
   * A connection to the chosen node. When its node cannot be reached (it died since it was chosen and the pool
   * had to open a new connection), the node is looked up again and one more connection asked for: nothing ran
   * on the failed one, so that is safe for writes too.
   */
  getConnection(callback: (error: unknown, connection: MysqlPoolConnection) => void, again = true): void {
    this.target().then(
      (index) =>
        this.pools[index]!.getConnection((err, conn) => {
          if (!err) return callback(null, this.watch(index, conn));
          this.failed(index, err);
          if (again && isConnectionError(err)) this.getConnection(callback, false);
          else callback(err, undefined as never);
        }),
      (err) => callback(err, undefined as never),
    );
  }

  end(callback: (error: unknown) => void): void {
    Promise.all(this.pools.map((p) => new Promise<void>((res) => p.end(() => res())))).then(
      () => callback(null),
      callback,
    );
  }

  /** Pool use summed over the nodes. */
  use(): { total: number; idle: number; waiting: number } {
    const all = this.pools.map(mysqlPoolUse);
    const sum = (k: 'total' | 'idle' | 'waiting') => all.reduce((n, u) => n + u[k], 0);
    return { total: sum('total'), idle: sum('idle'), waiting: sum('waiting') };
  }

  private async target(): Promise<number> {
    const c = this.choice;
    if (c && Date.now() < c.recheckAt) return c.index;
    this.resolving ??= this.resolve().finally(() => {
      this.resolving = undefined;
    });
    return (await this.resolving).index;
  }

  /** A statement or a connection failed on node `index`: a gone or read-only node sends the next one looking. */
  private failed(index: number, err: unknown): void {
    if (this.choice?.index !== index) return;
    if (isConnectionError(err) || (this.prefer === 'writable' && isReadOnlyError(err)))
      this.choice = undefined;
  }

  /**
   * The connection as Kysely sees it: a statement failing because its node went away (or turned read-only)
   * sends the pool looking for the right node again, and a SELECT outside a transaction that lost its
   * connection is run once more on a fresh one (a read is safe to repeat; a write may have committed, so its
   * error goes to the caller, which answers 503).
   */
  private watch(index: number, conn: PoolConnection): MysqlPoolConnection {
    let w = this.wrapped.get(conn);
    if (!w) {
      const query = conn.query.bind(conn) as (...args: unknown[]) => unknown;
      let inTransaction = false;
      w = {
        query: ((sql: string, params: unknown[], cb?: (e: unknown, r: unknown) => void) => {
          if (!cb) return query(sql, params);
          const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase();
          if (verb === 'begin' || verb === 'start') inTransaction = true;
          else if (verb === 'commit' || verb === 'rollback') inTransaction = false;
          const retriable = verb === 'select' && !inTransaction;
          return query(sql, params, (e: unknown, r: unknown) => {
            if (e) this.failed(index, e);
            if (e && retriable && isConnectionError(e)) this.readAgain(sql, params, cb, 1);
            else cb(e, r);
          });
        }) as MysqlPoolConnection['query'],
        release: () => conn.release(),
      };
      this.wrapped.set(conn, w);
    }
    return w;
  }

  private readAgain(
    sql: string,
    params: unknown[],
    cb: (e: unknown, r: unknown) => void,
    attempt: number,
  ): void {
    this.target().then(
      (index) =>
        this.pools[index]!.getConnection((err, conn) => {
          if (err) {
            this.failed(index, err);
            if (attempt < 3 && isConnectionError(err)) return this.readAgain(sql, params, cb, attempt + 1);
            return cb(err, undefined);
          }
          conn.query(sql, params, (e: unknown, r: unknown) => {
            conn.release();
            if (e) this.failed(index, e);
            if (e && attempt < 3 && isConnectionError(e)) this.readAgain(sql, params, cb, attempt + 1);
            else cb(e, r);
          });
        }),
      (err) => cb(err, undefined),
    );
  }

  private readOnly(index: number): Promise<boolean> {
    return new Promise((resolve, reject) =>
      this.pools[index]!.query({ sql: 'select @@read_only as ro', timeout: 3000 }, (err, rows) => {
        if (err) reject(err);
        else resolve(Number((rows as Array<{ ro: number | string }>)[0]?.ro) !== 0);
      }),
    );
  }

  private async resolve(): Promise<Choice> {
    const seen = await Promise.allSettled(this.nodes.map((_, i) => this.readOnly(i)));
    const up = seen.flatMap((s, i) => (s.status === 'fulfilled' ? [{ i, ro: s.value }] : []));
    if (up.length === 0) {
      this.choice = undefined;
      throw (seen[0] as PromiseRejectedResult).reason;
    }
    const wanted = up.filter((n) => n.ro === (this.prefer === 'replica'));
    if (this.prefer === 'writable' && wanted.length > 1)
      this.log?.warn(
        { nodes: wanted.map((n) => this.name(n.i)) },
        'database: more than one node is writable; writing to the first listed (fence the others)',
      );
    const pick = wanted[0] ?? up[0]!;
    const preferred = wanted.length > 0;
    const next = {
      index: pick.i,
      recheckAt: preferred ? Number.POSITIVE_INFINITY : Date.now() + this.recheckMs,
    };
    const changed = this.lastLogged?.index !== pick.i || this.lastLogged.preferred !== preferred;
    this.choice = next;
    if (changed) {
      this.lastLogged = { index: pick.i, preferred };
      const node = this.name(pick.i);
      if (preferred)
        this.log?.info?.(
          { node },
          `database: ${this.prefer === 'writable' ? 'writes' : 'replica reads'} go to ${node}`,
        );
      else
        this.log?.warn(
          { node },
          this.prefer === 'writable'
            ? `database: no writable node; reading from ${node}, writes answer 503 until one is promoted`
            : `database: no read-only node answers; replica reads go to ${node}`,
        );
    }
    return next;
  }

  private name(i: number): string {
    return `${this.nodes[i]!.host}:${this.nodes[i]!.port}`;
  }
}

/** mysql2's pool keeps its counts in fields it does not document (stable since mysql2 1.x). */
export function mysqlPoolUse(pool: Pool): { total: number; idle: number; waiting: number } {
  const p = pool as unknown as {
    _allConnections?: { length: number };
    _freeConnections?: { length: number };
    _connectionQueue?: { length: number };
  };
  return {
    total: p._allConnections?.length ?? 0,
    idle: p._freeConnections?.length ?? 0,
    waiting: p._connectionQueue?.length ?? 0,
  };
}
