import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPool } from 'mysql2/promise';
import pg from 'pg';
import { engineUrl } from './engines';

export interface TestDatabase {
  engine: 'sqlite' | 'mysql' | 'postgres';
  url: string;
  drop(): Promise<void>;
}

export interface EngineCase {
  engine: TestDatabase['engine'];
  /** undefined when the engine is not configured (the suite then skips). */
  available: boolean;
  create(): Promise<TestDatabase>;
}

function uniqueName(): string {
  return `vodtest_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

async function createSqlite(): Promise<TestDatabase> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodtest-'));
  return {
    engine: 'sqlite',
    url: `sqlite:${path.join(dir, 'test.db')}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function createMysql(serverUrl: string): Promise<TestDatabase> {
  const name = uniqueName();
  const u = new URL(serverUrl.replace(/^mariadb:/, 'mysql:'));
  const admin = createPool({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    connectionLimit: 1,
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  u.pathname = `/${name}`;
  return {
    engine: 'mysql',
    url: u.toString(),
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}

async function createPostgres(serverUrl: string): Promise<TestDatabase> {
  const name = uniqueName();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    engine: 'postgres',
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** The three engines one repository suite runs against: SQLite always, the others when configured. */
export function databaseEngines(suite: string): EngineCase[] {
  const mysql = engineUrl('mysql', `${suite} on MariaDB`);
  const postgres = engineUrl('postgres', `${suite} on PostgreSQL`);
  return [
    { engine: 'sqlite', available: true, create: createSqlite },
    { engine: 'mysql', available: !!mysql, create: () => createMysql(mysql!) },
    { engine: 'postgres', available: !!postgres, create: () => createPostgres(postgres!) },
  ];
}
