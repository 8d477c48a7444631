import type { MysqlPoolConnection } from 'kysely';
import mysql2 from 'mysql2';
import { describe, expect, it } from 'vitest';
import { engineUrl } from '../../../../test/support/engines';
import { startTcpProxy } from '../../../../test/support/tcp-proxy';
import { isReadOnlyError, isUnavailableError } from './errors';
import { type MysqlNode, MysqlNodeSet, parseMysqlUrl } from './mysql-hosts';

describe('parseMysqlUrl', () => {
  it('reads one node or several, with credentials and the database', () => {
    expect(parseMysqlUrl('mysql://root@127.0.0.1/vod')).toEqual({
      nodes: [{ host: '127.0.0.1', port: 3306 }],
      user: 'root',
      password: '',
      database: 'vod',
    });
    expect(parseMysqlUrl('mariadb://u:p%40ss@db1:13307,db2:13308,[::1]:3307/vod?x=1')).toEqual({
      nodes: [
        { host: 'db1', port: 13307 },
        { host: 'db2', port: 13308 },
        { host: '::1', port: 3307 },
      ],
      user: 'u',
      password: 'p@ss',
      database: 'vod',
    });
  });

  it('refuses a bad node', () => {
    expect(() => parseMysqlUrl('mysql://u@db1:99999/vod')).toThrow(/bad node "db1:99999"/);
    expect(() => parseMysqlUrl('mysql://u@db1:3306,:3307/vod')).toThrow(/bad node/);
    expect(() => parseMysqlUrl('postgres://u@db1/vod')).toThrow(/not a mysql/);
  });
});

describe('isReadOnlyError', () => {
  it("knows MariaDB's and PostgreSQL's read-only refusals, and nothing else", () => {
    const maria = Object.assign(
      new Error(
        'The MariaDB server is running with the --read-only option so it cannot execute this statement',
      ),
      {
        code: 'ER_OPTION_PREVENTS_STATEMENT',
        errno: 1290,
      },
    );
    expect(isReadOnlyError(maria)).toBe(true);
    expect(
      isReadOnlyError({ code: '25006', message: 'cannot execute INSERT in a read-only transaction' }),
    ).toBe(true);
    expect(isReadOnlyError(new Error('wrapped', { cause: maria }))).toBe(true);
    // 1290 also refuses statements for other options (e.g. --skip-grant-tables): not a failover.
    expect(
      isReadOnlyError({
        code: 'ER_OPTION_PREVENTS_STATEMENT',
        errno: 1290,
        message: 'running with the --skip-grant-tables option',
      }),
    ).toBe(false);
    expect(isReadOnlyError({ code: 'ER_DUP_ENTRY', message: 'Duplicate entry' })).toBe(false);
    expect(isUnavailableError(maria)).toBe(true);
    expect(isUnavailableError({ code: 'ECONNREFUSED' })).toBe(true);
  });
});

/** A TCP relay to a real MariaDB that the test can take down, as a node dies: its sockets closed, its port shut. */
async function relay(target: { host: string; port: number }) {
  const proxy = await startTcpProxy(target.host, target.port);
  return { node: { host: '127.0.0.1', port: proxy.port }, kill: () => proxy.cut() };
}

const mysqlUrl = engineUrl('mysql', 'MysqlNodeSet');
describe.skipIf(!mysqlUrl)('MysqlNodeSet against MariaDB (a node dies)', () => {
  const target = mysqlUrl ? parseMysqlUrl(mysqlUrl) : undefined;
  const open = (set: MysqlNodeSet) =>
    new Promise<MysqlPoolConnection>((res, rej) => set.getConnection((e, c) => (e ? rej(e) : res(c))));
  const run = (c: MysqlPoolConnection, sql: string) =>
    new Promise<unknown>((res, rej) =>
      (c.query as unknown as (s: string, p: unknown[], cb: (e: unknown, r: unknown) => void) => void)(
        sql,
        [],
        (e, r) => (e ? rej(e) : res(r)),
      ),
    );
  const nodeSet = (nodes: MysqlNode[]) =>
    new MysqlNodeSet(
      nodes,
      { user: target!.user, password: target!.password, connectionLimit: 4, connectTimeout: 3000 },
      'writable',
      mysql2.createPool,
      { warn: () => {} },
    );
  const end = (set: MysqlNodeSet) => new Promise((res) => set.end(res));

  it('gives a connection to the next node when the chosen one died and its pool must open a new one', async () => {
    const [a, b] = [await relay(target!.nodes[0]!), await relay(target!.nodes[0]!)];
    const set = nodeSet([a.node, b.node]);
    try {
      const first = await open(set);
      expect(await run(first, 'select 1 as one')).toEqual([{ one: 1 }]);
      expect(set.current).toBe(`127.0.0.1:${a.node.port}`);
      await a.kill();
      // No statement failed yet: the set still points at node a, whose pool has no free connection (the test
      // holds its only one) and must connect anew (refused).
      const second = await open(set);
      expect(await run(second, 'select 2 as two')).toEqual([{ two: 2 }]);
      second.release();
      first.release();
      expect(set.current).toBe(`127.0.0.1:${b.node.port}`);
    } finally {
      await end(set);
      await b.kill();
    }
  });

  it('runs a SELECT again on the next node when its connection is lost; a write gets the error', async () => {
    const [a, b] = [await relay(target!.nodes[0]!), await relay(target!.nodes[0]!)];
    const set = nodeSet([a.node, b.node]);
    try {
      const read = await open(set);
      const write = await open(set);
      await a.kill();
      expect(await run(read, 'select 3 as three')).toEqual([{ three: 3 }]);
      await expect(run(write, 'do 1')).rejects.toSatisfy(isUnavailableError);
      read.release();
      write.release();
      expect(set.current).toBe(`127.0.0.1:${b.node.port}`);
    } finally {
      await end(set);
      await b.kill();
    }
  });
});
