import { type Kysely, sql } from 'kysely';

/** As in connect.ts (not imported from there: connect.ts imports this file). */
type DialectName = 'sqlite' | 'mysql' | 'postgres';

import type { DB } from './schema';

/**
 * Why lag cannot be measured, when it cannot. `stopped`: the node is a replica whose replication is not running
 * (it falls further behind for as long as that lasts); without it, lag cannot be told (not a replica, no
 * privilege, an engine without the notion).
 */
export type LagUnmeasurable = { unmeasurable: string; stopped?: boolean };

/** Replication lag in seconds, or why it cannot be measured. */
export async function replicaLag(
  replica: Kysely<DB>,
  dialect: DialectName,
): Promise<{ lagSec: number } | LagUnmeasurable> {
  if (dialect === 'postgres') {
    const r = await sql<{ recovering: boolean; lag: number | string | null }>`
      select pg_is_in_recovery() as recovering,
        case when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
             else extract(epoch from now() - pg_last_xact_replay_timestamp()) end as lag`.execute(replica);
    const row = r.rows[0];
    if (!row?.recovering) return { unmeasurable: 'the replica is not in recovery (not a standby)' };
    if (row.lag === null) return { unmeasurable: 'the standby has replayed no transaction yet' };
    return { lagSec: Math.max(0, Number(row.lag)) };
  }
  if (dialect === 'mysql') {
    for (const stmt of ['SHOW REPLICA STATUS', 'SHOW SLAVE STATUS']) {
      let rows: Record<string, unknown>[];
      try {
        rows = (await sql.raw<Record<string, unknown>>(stmt).execute(replica)).rows;
      } catch (err) {
        if (stmt === 'SHOW REPLICA STATUS') continue; // older servers only know SHOW SLAVE STATUS
        return { unmeasurable: `${stmt} failed: ${(err as Error).message}` };
      }
      const row = rows[0];
      if (!row)
        return {
          unmeasurable: `${stmt} returned nothing (not a replica, or no REPLICATION CLIENT privilege)`,
        };
      const lag = row.Seconds_Behind_Master ?? row.Seconds_Behind_Source;
      if (lag === null || lag === undefined)
        return {
          unmeasurable: `replication is not running (${stmt}: Seconds_Behind_Master is NULL)`,
          stopped: true,
        };
      return { lagSec: Number(lag) };
    }
  }
  return { unmeasurable: `replication lag is not measurable on ${dialect}` };
}
