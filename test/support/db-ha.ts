// A MariaDB primary + replica for tests, run by the project's own scripts (scripts/db-ha-*.sh) in a folder and on
// ports of the test's own.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';

const run = promisify(execFile);
const SCRIPTS = path.resolve(import.meta.dirname, '../../scripts');

export type Node = 'n1' | 'n2';

export class DbHaPair {
  readonly env: Record<string, string>;
  constructor(
    readonly dir: string,
    readonly ports: Record<Node, number>,
  ) {
    this.env = {
      ...(process.env as Record<string, string>),
      DB_HA_DIR: dir,
      DB_HA_PORT_1: String(ports.n1),
      DB_HA_PORT_2: String(ports.n2),
    };
  }

  /** The URL listing both nodes (vodcloud finds the writable one). */
  get url(): string {
    return `mysql://vodcloud:vodcloud-ha@127.0.0.1:${this.ports.n1},127.0.0.1:${this.ports.n2}/vodcloud`;
  }

  /** Runs scripts/db-ha-<name>.sh; returns its output, throws with it when the script fails. */
  async script(name: 'up' | 'down' | 'failover' | 'rejoin', args: string[] = [], timeoutMs = 120_000) {
    try {
      const { stdout, stderr } = await run(path.join(SCRIPTS, `db-ha-${name}.sh`), args, {
        env: this.env,
        timeout: timeoutMs,
      });
      return stdout + stderr;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`db-ha-${name}.sh failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }

  pid(node: Node): number {
    return Number(readFileSync(path.join(this.dir, node, 'mysqld.pid'), 'utf8').trim());
  }

  /** A statement as the admin user on one node. */
  async sql<T = Record<string, unknown>>(
    node: Node,
    statement: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    const conn = await createConnection({
      host: '127.0.0.1',
      port: this.ports[node],
      user: 'vodadmin',
      password: 'vodcloud-admin',
      database: 'vodcloud',
      connectTimeout: 3000,
    });
    try {
      const [rows] = await conn.query(statement, params);
      return rows as T[];
    } finally {
      await conn.end();
    }
  }
}

/** True when this machine can run MariaDB servers of its own (the scripts install nothing in tests). */
export async function mariadbServerAvailable(): Promise<boolean> {
  try {
    await run('mariadbd', ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
