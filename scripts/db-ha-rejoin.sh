#!/usr/bin/env bash
# Brings a node that stopped (a crashed old primary) back as a replica of the current primary.
# It restarts with --init-rpl-role=SLAVE: its crash recovery drops transactions it had written but no replica
# had acknowledged (they were never acknowledged to a client either), so its history matches the new primary's
# and GTID replication resumes where it stopped.
#   scripts/db-ha-rejoin.sh [n1|n2]      (default: the node that is not the primary)
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=db-ha-lib.sh
. ./db-ha-lib.sh
T=$(date +%s%N)
primary=$(primary_node) || { echo "db-ha: no writable primary answers; run scripts/db-ha-failover.sh first" >&2; exit 1; }
n=${1:-$(other "$primary")}
[ "$n" != "$primary" ] || { echo "db-ha: $n is the primary" >&2; exit 1; }
start_node "$n" --init-rpl-role=SLAVE
# A node that was a primary has no slave position yet: start from its own history.
q "$n" "SET GLOBAL read_only=ON; STOP SLAVE; SET GLOBAL gtid_slave_pos=@@gtid_binlog_pos"
replicate "$n" "$primary"
pos=$(q "$primary" 'SELECT @@gtid_binlog_pos')
if [ "$(q "$n" "SELECT MASTER_GTID_WAIT('$pos', 60)")" != 0 ]; then
  echo "db-ha: $n did not catch up with $primary at $pos:" >&2
  q "$n" 'SHOW SLAVE STATUS\G' | grep -E 'Running|Last_.*Error' >&2
  exit 1
fi
wait_semi_sync "$primary"
echo "db-ha: $n replicates from $primary, caught up at $pos, in $(ms_since "$T")"
