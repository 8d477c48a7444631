// The database part of `vodcloud backup`: a consistent dump taken without blocking writes, per engine.
// - MariaDB/MySQL: mariadb-dump (or mysqldump) in one REPEATABLE READ transaction (--single-transaction),
//   with the binary log / GTID position when the server logs and the user may read it.
// - PostgreSQL: pg_dump -Fc on a snapshot exported by a transaction of ours, so the row counts and the
//   WAL position recorded are read in that same snapshot.
// - SQLite: better-sqlite3's online backup API (never a file copy of a live WAL database).
import { open } from 'node:fs/promises';
import { mysqlDumpRowCounts } from './backup-mysql-counts';
import { fileSha256, runTool, ToolError } from './backup-tools';
import { type DialectName, sqliteFile } from './connect';
import { writableMysql } from './mysql-target';

export interface DumpResult {
  file: string;
  bytes: number;
  sha256: string;
  tool: string;
  /** Table → rows, read from the very snapshot dumped; absent when that cannot be done honestly. */
  rowCounts?: Record<string, number>;
  rowCountsNote?: string;
  lastMigration: string | null;
  /** Where the snapshot sits in the engine's log: binlog file/position and GTID, or the WAL LSN. */
  position: Record<string, string> | null;
  positionNote?: string;
}

export const DUMP_FILE: Record<DialectName, string> = {
  sqlite: 'database.sqlite',
  mysql: 'database.sql',
  postgres: 'database.pgdump',
};

export const MYSQL_DUMP_TOOLS = ['mariadb-dump', 'mysqldump'];
export const MYSQL_CLIENT_TOOLS = ['mariadb', 'mysql'];
const NO_PRIVILEGE = /access denied|privilege|RELOAD|BINLOG MONITOR|REPLICATION CLIENT|SUPER/i;

async function mysqlScalar(target: Awaited<ReturnType<typeof writableMysql>>, q: string): Promise<unknown> {
  const { createConnection } = await import('mysql2/promise');
  const conn = await createConnection({ ...target, connectTimeout: 10_000 });
  try {
    const [rows] = await conn.query(q);
    const first = (rows as Array<Record<string, unknown>>)[0];
    return first ? Object.values(first)[0] : undefined;
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/**
 * The `-- CHANGE MASTER TO …` comment --master-data=2 writes at the head of the dump and the
 * `-- SET GLOBAL gtid_slave_pos='…'` one --gtid writes at its end (MariaDB).
 */
async function dumpedPosition(file: string): Promise<Record<string, string> | null> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const read = async (at: number) => {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, at);
      return buffer.subarray(0, bytesRead).toString('utf8');
    };
    const text = `${await read(0)}\n${await read(Math.max(0, size - 64 * 1024))}`;
    const pos: Record<string, string> = {};
    const log = /MASTER_LOG_FILE='([^']+)',\s*MASTER_LOG_POS=(\d+)/.exec(text);
    if (log) Object.assign(pos, { binlogFile: log[1]!, binlogPos: log[2]! });
    const gtid = /gtid_slave_pos='([^']*)'/.exec(text) ?? /GTID_PURGED='([^']*)'/.exec(text);
    if (gtid) pos.gtid = gtid[1]!;
    return Object.keys(pos).length ? pos : null;
  } finally {
    await fh.close();
  }
}

async function dumpMysql(url: string, file: string, timeoutMs: number): Promise<DumpResult> {
  const t = await writableMysql(url);
  const base = [
    `--host=${t.host}`,
    `--port=${t.port}`,
    `--user=${t.user}`,
    '--single-transaction',
    '--quick',
    '--hex-blob',
    '--routines',
    '--no-tablespaces',
    '--default-character-set=utf8mb4',
  ];
  const env = t.password ? { MYSQL_PWD: t.password } : undefined;
  const lastMigration = (await mysqlScalar(
    t,
    'select name from vod_migrations order by name desc limit 1',
  ).catch(() => null)) as string | null;
  const logBin = Number(await mysqlScalar(t, 'select @@log_bin').catch(() => 0)) === 1;
  let positionNote: string | undefined;
  let run: Awaited<ReturnType<typeof runTool>> | undefined;
  if (logBin) {
    try {
      run = await runTool(MYSQL_DUMP_TOOLS, [...base, '--gtid', '--master-data=2', t.database], {
        env,
        stdoutTo: file,
        timeoutMs,
      });
    } catch (err) {
      if (!(err instanceof ToolError) || !NO_PRIVILEGE.test(err.stderr)) throw err;
      positionNote = `binary log position not recorded: the user may not read it (${err.stderr.trim().split('\n')[0]})`;
    }
  } else
    positionNote = 'binary log position not recorded: the server does not write a binary log (log_bin=0)';
  run ??= await runTool(MYSQL_DUMP_TOOLS, [...base, t.database], { env, stdoutTo: file, timeoutMs });
  const position = positionNote ? null : await dumpedPosition(file);
  return {
    file,
    bytes: run.bytes,
    sha256: run.sha256,
    tool: run.tool,
    // Counted in the dump itself: the dump tool's transaction cannot be shared.
    rowCounts: await mysqlDumpRowCounts(file),
    lastMigration,
    position,
    ...(positionNote && { positionNote }),
  };
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

async function dumpPostgres(url: string, file: string, timeoutMs: number): Promise<DumpResult> {
  const { default: pg } = await import('pg');
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    const snapshot = (await client.query('select pg_export_snapshot() as s')).rows[0].s as string;
    const dump = runTool(['pg_dump'], ['-Fc', `--snapshot=${snapshot}`, `--dbname=${u.toString()}`], {
      env: password ? { PGPASSWORD: password } : undefined,
      stdoutTo: file,
      timeoutMs,
    });
    // Read in the exported snapshot while pg_dump dumps it: the counts are those of the dump.
    const reads = (async () => {
      const lsn = (
        await client.query(
          'select (case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end)::text as lsn',
        )
      ).rows[0].lsn as string | null;
      const tables = (
        await client.query(
          'select tablename from pg_tables where schemaname = current_schema() order by tablename',
        )
      ).rows.map((r) => r.tablename as string);
      const rowCounts: Record<string, number> = {};
      for (const name of tables)
        rowCounts[name] = Number(
          (await client.query(`select count(*) as n from ${quoteIdent(name)}`)).rows[0].n,
        );
      const last = tables.includes('vod_migrations')
        ? ((await client.query('select name from vod_migrations order by name desc limit 1')).rows[0]?.name ??
          null)
        : null;
      return { lsn, rowCounts, lastMigration: last as string | null };
    })();
    const [run, read] = await Promise.all([dump, reads]);
    return {
      file,
      bytes: run.bytes,
      sha256: run.sha256,
      tool: run.tool,
      rowCounts: read.rowCounts,
      lastMigration: read.lastMigration,
      position: read.lsn ? { walLsn: read.lsn } : null,
      ...(!read.lsn && { positionNote: 'WAL position not readable (a standby?)' }),
    };
  } finally {
    await client.query('rollback').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function dumpSqlite(url: string, file: string): Promise<DumpResult> {
  const { default: Sqlite } = await import('better-sqlite3');
  const live = new Sqlite(sqliteFile(url), { fileMustExist: true, timeout: 10_000 });
  try {
    // Every page in one step, inside one read transaction (which in WAL mode does not block writers): in
    // small steps, a write by the server between two steps would restart the copy, forever on a busy node.
    await live.backup(file, { progress: () => 0x7fffffff });
  } finally {
    live.close();
  }
  // The copy is the snapshot: counts and the last migration are read from it. It is made one self-contained
  // file (rollback journal, no -wal/-shm beside it); the server turns WAL on again when it opens it.
  const copy = new Sqlite(file);
  copy.pragma('journal_mode = DELETE');
  let rowCounts: Record<string, number>;
  let lastMigration: string | null;
  try {
    const tables = copy
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name",
      )
      .all() as Array<{ name: string }>;
    rowCounts = Object.fromEntries(
      tables.map(({ name }) => [
        name,
        (copy.prepare(`select count(*) as n from ${quoteIdent(name)}`).get() as { n: number }).n,
      ]),
    );
    lastMigration =
      'vod_migrations' in rowCounts
        ? ((
            copy.prepare('select name from vod_migrations order by name desc limit 1').get() as
              | { name: string }
              | undefined
          )?.name ?? null)
        : null;
  } finally {
    copy.close();
  }
  const { bytes, sha256 } = await fileSha256(file);
  return { file, bytes, sha256, tool: 'better-sqlite3 backup', rowCounts, lastMigration, position: null };
}

/** Dumps the database at `url` into `file` (created), within `timeoutMs`. */
export function dumpDatabase(
  dialect: DialectName,
  url: string,
  file: string,
  timeoutMs: number,
): Promise<DumpResult> {
  if (dialect === 'mysql') return dumpMysql(url, file, timeoutMs);
  if (dialect === 'postgres') return dumpPostgres(url, file, timeoutMs);
  return dumpSqlite(url, file);
}
