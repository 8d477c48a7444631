// A MySQL/MariaDB URL for the backup tools: the URL may list several hosts (`mysql://u:pw@h1:3307,h2:3308/db`);
// the writable one (`@@read_only = 0`) is chosen by connecting to each, once (the server's pools follow a
// failover with MysqlNodeSet, mysql-hosts.ts; a backup or restore is one short run).
import { redactUrl } from './connect';
import { parseMysqlUrl } from './mysql-hosts';

export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Every host of a mysql:// or mariadb:// URL (mysql-hosts.ts reads it), with the credentials and database they share. */
export function mysqlTargets(url: string): MysqlTarget[] {
  let u: ReturnType<typeof parseMysqlUrl>;
  try {
    u = parseMysqlUrl(url);
  } catch (err) {
    throw new Error(`${redactUrl(url)}: ${(err as Error).message}`);
  }
  if (!u.database) throw new Error(`${redactUrl(url)} names no database (add /dbname)`);
  return u.nodes.map((n) => ({ ...n, user: u.user, password: u.password, database: u.database }));
}

/** A single-host URL of the same credentials and database (what connect.ts and the drivers accept). */
export function mysqlUrlOf(t: MysqlTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  const auth = `${encodeURIComponent(t.user)}${t.password ? `:${encodeURIComponent(t.password)}` : ''}`;
  return `mysql://${auth}@${host}:${t.port}/${encodeURIComponent(t.database)}`;
}

/** Runs `fn` on a connection of its own to one node (closed after). */
export async function onNode<T>(
  t: MysqlTarget,
  timeoutMs: number,
  fn: (conn: import('mysql2/promise').Connection) => Promise<T>,
): Promise<T> {
  const { createConnection } = await import('mysql2/promise');
  const { host, port, user, password, database } = t;
  const conn = await createConnection({ host, port, user, password, database, connectTimeout: timeoutMs });
  try {
    return await fn(conn);
  } finally {
    await conn.end().catch(() => undefined);
  }
}

function readOnly(t: MysqlTarget, timeoutMs: number): Promise<boolean> {
  return onNode(t, timeoutMs, async (conn) => {
    const [rows] = await conn.query('select @@read_only as ro');
    return Number((rows as Array<{ ro: number }>)[0]?.ro) !== 0;
  });
}

/** The writable host of the URL: the only one, or the first of several answering `@@read_only = 0`. */
export async function writableMysql(url: string, timeoutMs = 5000): Promise<MysqlTarget> {
  const targets = mysqlTargets(url);
  if (targets.length === 1) return targets[0]!;
  const seen: string[] = [];
  for (const t of targets) {
    try {
      if (!(await readOnly(t, timeoutMs))) return t;
      seen.push(`${t.host}:${t.port} read-only`);
    } catch (err) {
      seen.push(`${t.host}:${t.port} ${(err as Error).message}`);
    }
  }
  throw new Error(`no writable host in ${redactUrl(url)}: ${seen.join('; ')}`);
}
