// `vodcloud db status`: every MySQL/MariaDB node that VOD_DB_URL (and VOD_DB_REPLICA_URL) lists, as vodcloud
// sees it — which one takes the writes, which replicate from where, their lag and GTID positions, and whether
// commits wait for a replica (semi-synchronous). Exit 0 when exactly one node is writable, 1 otherwise.
import type { Command } from 'commander';
import type { RowDataPacket } from 'mysql2';
import type { Config } from '../config';
import { dialectOf, redactUrl } from '../db/connect';
import { type MysqlTarget, mysqlTargets, onNode } from '../db/mysql-target';
import { table } from './format';

export interface NodeStatus {
  node: string;
  up: boolean;
  error?: string;
  role?: 'primary' | 'replica' | 'read-only';
  readOnly?: boolean;
  gtidBinlogPos?: string;
  replicatesFrom?: string | null;
  ioRunning?: string | null;
  sqlRunning?: string | null;
  lagSec?: number | null;
  semiSync?: string | null;
  lastError?: string | null;
}

async function nodeStatus(t: MysqlTarget): Promise<NodeStatus> {
  const node = `${t.host}:${t.port}`;
  try {
    return await onNode(t, 3000, async (conn) => {
      const [[vars]] = await conn.query<RowDataPacket[]>(
        'select @@read_only as ro, @@gtid_binlog_pos as pos',
      );
      const slave = await conn
        .query<RowDataPacket[]>('SHOW SLAVE STATUS')
        .then(([rows]) => rows[0])
        .catch(() => undefined);
      const [semi] = await conn.query<RowDataPacket[]>("SHOW STATUS LIKE 'Rpl_semi_sync_master_status'");
      const readOnly = Number(vars?.ro) !== 0;
      return {
        node,
        up: true,
        role: !readOnly ? 'primary' : slave ? 'replica' : 'read-only',
        readOnly,
        gtidBinlogPos: String(vars?.pos ?? ''),
        replicatesFrom: slave ? `${slave.Master_Host}:${slave.Master_Port}` : null,
        ioRunning: slave?.Slave_IO_Running ?? null,
        sqlRunning: slave?.Slave_SQL_Running ?? null,
        lagSec: slave?.Seconds_Behind_Master ?? null,
        semiSync: readOnly ? null : (semi[0]?.Value ?? null),
        lastError: slave?.Last_Error || slave?.Last_IO_Error || null,
      };
    });
  } catch (err) {
    return { node, up: false, error: (err as Error).message };
  }
}

/** The status of every node the configured URLs list (each node once). */
export async function databaseNodes(cfg: Config): Promise<NodeStatus[]> {
  if (dialectOf(cfg.dbUrl) !== 'mysql')
    throw new Error(`vodcloud db status reads MySQL/MariaDB nodes; VOD_DB_URL is ${redactUrl(cfg.dbUrl)}`);
  const seen = new Map<string, MysqlTarget>();
  for (const url of [cfg.dbUrl, cfg.dbReplicaUrl])
    if (url && dialectOf(url) === 'mysql')
      for (const t of mysqlTargets(url))
        if (!seen.has(`${t.host}:${t.port}`)) seen.set(`${t.host}:${t.port}`, t);
  return Promise.all([...seen.values()].map(nodeStatus));
}

export function registerDbCommand(program: Command, config: () => Config): void {
  const db = program.command('db').description('the database nodes (MySQL/MariaDB primary and replicas)');
  db.command('status')
    .description(
      'every node of VOD_DB_URL and VOD_DB_REPLICA_URL: role, replication, lag, GTID; exit 1 unless exactly one is writable',
    )
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const nodes = await databaseNodes(config());
      const writable = nodes.filter((n) => n.role === 'primary').length;
      if (opts.json) console.log(JSON.stringify({ nodes, writable }, null, 2));
      else
        console.log(
          table(
            ['node', 'role', 'replicates from', 'io/sql', 'lag', 'semi-sync', 'gtid', 'error'],
            nodes.map((n) => [
              n.node,
              n.up ? n.role! : 'DOWN',
              n.replicatesFrom ?? '',
              n.ioRunning ? `${n.ioRunning}/${n.sqlRunning}` : '',
              n.lagSec === null || n.lagSec === undefined ? '' : `${n.lagSec} s`,
              n.semiSync ?? '',
              n.gtidBinlogPos ?? '',
              n.error ?? n.lastError ?? '',
            ]),
            process.stdout.isTTY === true,
          ),
        );
      if (writable !== 1) {
        console.error(writable ? `${writable} nodes are writable: fence all but one` : 'no node is writable');
        process.exitCode = 1;
      }
    });
}
