// The database part of `vodcloud restore`: into an empty database only, with the engine's own client
// (the mariadb client reading the dump, pg_restore), or for SQLite a copy checked by `integrity_check`.

import { existsSync, mkdirSync } from 'node:fs';
import { copyFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { MYSQL_CLIENT_TOOLS } from './backup-dump';
import { runTool } from './backup-tools';
import { type DialectName, sqliteFile } from './connect';
import { writableMysql } from './mysql-target';

/** The tables (and for SQLite: the file) already at the target; empty means a restore may go ahead. */
export async function existingTables(dialect: DialectName, url: string): Promise<string[]> {
  if (dialect === 'sqlite') {
    const file = sqliteFile(url);
    // A journal left beside the target would be replayed into the restored file.
    const stale = [`${file}-wal`, `${file}-journal`].filter((f) => existsSync(f));
    if (stale.length) return stale.map((f) => `(${f} exists)`);
    if (!existsSync(file) || (await stat(file)).size === 0) return [];
    const { default: Sqlite } = await import('better-sqlite3');
    const db = new Sqlite(file, { readonly: true });
    try {
      const rows = db
        .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
        .all() as Array<{ name: string }>;
      // A file that is not empty is refused even without tables: it is someone's file.
      return rows.length ? rows.map((r) => r.name) : [`(the file ${file} exists and is not empty)`];
    } finally {
      db.close();
    }
  }
  if (dialect === 'mysql') {
    const t = await writableMysql(url);
    const { createConnection } = await import('mysql2/promise');
    const conn = await createConnection({ ...t, connectTimeout: 10_000 });
    try {
      const [rows] = await conn.query(
        'select table_name as name from information_schema.tables where table_schema = database() order by 1',
      );
      return (rows as Array<{ name: string }>).map((r) => r.name);
    } finally {
      await conn.end().catch(() => undefined);
    }
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const r = await client.query(
      "select schemaname || '.' || tablename as name from pg_tables where schemaname not in ('pg_catalog', 'information_schema') order by 1",
    );
    return r.rows.map((row) => row.name as string);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Loads the dump `file` into the (empty) database at `url`. */
export async function restoreDump(
  dialect: DialectName,
  url: string,
  file: string,
  timeoutMs: number,
): Promise<{ tool: string }> {
  if (dialect === 'sqlite') {
    const target = sqliteFile(url);
    mkdirSync(path.dirname(target), { recursive: true });
    await copyFile(file, target);
    const { default: Sqlite } = await import('better-sqlite3');
    const db = new Sqlite(target, { fileMustExist: true });
    try {
      const check = db.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new Error(`the restored SQLite file fails integrity_check: ${String(check)}`);
    } finally {
      db.close();
    }
    return { tool: 'copy + integrity_check' };
  }
  if (dialect === 'mysql') {
    const t = await writableMysql(url);
    const run = await runTool(
      MYSQL_CLIENT_TOOLS,
      [
        `--host=${t.host}`,
        `--port=${t.port}`,
        `--user=${t.user}`,
        '--default-character-set=utf8mb4',
        t.database,
      ],
      { env: t.password ? { MYSQL_PWD: t.password } : undefined, stdinFrom: file, timeoutMs },
    );
    return { tool: run.tool };
  }
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  const run = await runTool(
    ['pg_restore'],
    ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${u.toString()}`, file],
    { env: password ? { PGPASSWORD: password } : undefined, timeoutMs },
  );
  return { tool: run.tool };
}
