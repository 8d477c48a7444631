#!/usr/bin/env bash
# Promotes the replica to primary: fences the old primary if it still answers (read_only=ON), lets the replica
# apply every transaction it received, stops replication, makes it writable. vodcloud nodes whose VOD_DB_URL lists
# both nodes follow by themselves (the next statement that fails re-resolves the writable node): no restart.
# A planned switchover (both nodes up) makes the old primary a replica of the new one at once; after a crash,
# bring the old primary back with scripts/db-ha-rejoin.sh.
#   scripts/db-ha-failover.sh [--to n1|n2]      (default: the node that is a replica now)
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=db-ha-lib.sh
. ./db-ha-lib.sh
T=$(date +%s%N)
target=
if [ "${1:-}" = --to ]; then target=${2:?--to n1|n2}; port_of "$target" >/dev/null; fi
if [ -z "$target" ]; then
  for n in n1 n2; do [ "$(q "$n" 'SHOW SLAVE STATUS' 2>/dev/null | wc -l)" -gt 0 ] && target=$n; done
fi
[ -n "$target" ] || { echo "db-ha: no replica answers; nothing to promote" >&2; exit 1; }
old=$(other "$target")
q "$target" 'SELECT 1' >/dev/null || { echo "db-ha: $target does not answer" >&2; exit 1; }

fenced=0
if q "$old" 'SET GLOBAL read_only=ON' 2>/dev/null; then fenced=1; echo "db-ha: fenced $old (read_only=ON)"; fi
# Everything the replica received (and, with semi-sync, acknowledged) is applied before it takes writes.
if [ "$fenced" = 1 ]; then
  # The old primary is alive: wait until the replica has received all it wrote.
  pos=$(q "$old" 'SELECT @@gtid_binlog_pos')
  [ "$(q "$target" "SELECT MASTER_GTID_WAIT('$pos', 30)")" = 0 ] || { echo "db-ha: $target did not reach $pos" >&2; exit 1; }
fi
q "$target" 'STOP SLAVE IO_THREAD'
received=$(q "$target" 'SHOW ALL SLAVES STATUS\G' | sed -n 's/^ *Gtid_IO_Pos: //p' | head -n1)
if [ -n "$received" ]; then
  [ "$(q "$target" "SELECT MASTER_GTID_WAIT('$received', 60)")" = 0 ] || { echo "db-ha: $target did not apply $received" >&2; exit 1; }
fi
q "$target" 'STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=OFF'
echo "$target" >"$D/primary"
echo "db-ha: $target (127.0.0.1:$(port_of "$target")) is the primary, at $(q "$target" 'SELECT @@gtid_binlog_pos'); promoted in $(ms_since "$T")"
if [ "$fenced" = 1 ]; then
  replicate "$old" "$target"
  wait_semi_sync "$target"
  echo "db-ha: $old replicates from $target"
fi
