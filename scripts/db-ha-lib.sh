# Shared by scripts/db-ha-*.sh: a MariaDB primary + replica on one machine (nodes n1 and n2), GTID replication,
# semi-synchronous (AFTER_SYNC: a commit is acknowledged once the replica has it in its relay log).
# Settings (environment):
#   DB_HA_DIR            where the nodes live (default $VOD_SERVICES_DIR/db-ha, else /tmp/vodcloud-services/db-ha)
#   DB_HA_PORT_1/_2      the nodes' ports (13307, 13308), bound on 127.0.0.1
#   DB_HA_DATABASE, DB_HA_USER, DB_HA_PASSWORD   the application's database and user (vodcloud, vodcloud, vodcloud-ha)
#   DB_HA_REPLICATION_PASSWORD, DB_HA_ADMIN_PASSWORD   the replication user's and the admin user's (vodadmin)
#   DB_HA_SEMI_SYNC_TIMEOUT_MS   how long a commit waits for the replica's acknowledgement before the primary
#                        goes on asynchronously (5000); that fallback is what an operator trades against RPO 0
# Roles are not fixed: the primary is the node whose read_only is OFF. Every node starts read-only (a node that
# restarts never becomes a second writable primary); db-ha-up.sh and db-ha-failover.sh make one writable.
D=${DB_HA_DIR:-${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/db-ha}
DB_HA_PORT_1=${DB_HA_PORT_1:-13307}; DB_HA_PORT_2=${DB_HA_PORT_2:-13308}
DB_HA_DATABASE=${DB_HA_DATABASE:-vodcloud}; DB_HA_USER=${DB_HA_USER:-vodcloud}
DB_HA_PASSWORD=${DB_HA_PASSWORD:-vodcloud-ha}
DB_HA_REPLICATION_PASSWORD=${DB_HA_REPLICATION_PASSWORD:-vodcloud-replication}
DB_HA_ADMIN_PASSWORD=${DB_HA_ADMIN_PASSWORD:-vodcloud-admin}
DB_HA_SEMI_SYNC_TIMEOUT_MS=${DB_HA_SEMI_SYNC_TIMEOUT_MS:-5000}

port_of() { case $1 in n1) echo "$DB_HA_PORT_1" ;; n2) echo "$DB_HA_PORT_2" ;; *) echo "unknown node $1 (n1 or n2)" >&2; return 2 ;; esac; }
other() { [ "$1" = n1 ] && echo n2 || echo n1; }
pid_of() { cat "$D/$1/mysqld.pid" 2>/dev/null || true; }
running() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
# SQL as the admin user over TCP (works the same against nodes on other machines).
q() { local n=$1; shift; MYSQL_PWD=$DB_HA_ADMIN_PASSWORD mariadb -h127.0.0.1 -P"$(port_of "$n")" -uvodadmin \
  --connect-timeout=3 -N -B -e "$*"; }
# SQL as root over the node's socket (before the admin user exists).
qroot() { local n=$1; shift; mariadb --socket="$D/$n/mysqld.sock" -uroot -N -B -e "$*"; }
ms_since() { echo "$(( ($(date +%s%N) - $1) / 1000000 )) ms"; }

write_config() {
  local n=$1 id=${1#n}
  mkdir -p "$D/$n"; chown mysql:mysql "$D/$n"; chmod 755 "$D" "$D/$n"
  cat >"$D/$n/my.cnf" <<CNF
[mariadbd]
datadir=$D/$n/data
socket=$D/$n/mysqld.sock
pid-file=$D/$n/mysqld.pid
log-error=$D/$n/error.log
port=$(port_of "$n")
bind-address=127.0.0.1
skip-name-resolve
server-id=$id
log-bin=binlog
relay-log=relay
log-slave-updates=ON
binlog-format=ROW
gtid-strict-mode=ON
sync-binlog=1
innodb-flush-log-at-trx-commit=1
read-only=ON
rpl-semi-sync-master-enabled=ON
rpl-semi-sync-slave-enabled=ON
rpl-semi-sync-master-wait-point=AFTER_SYNC
rpl-semi-sync-master-timeout=$DB_HA_SEMI_SYNC_TIMEOUT_MS
slave-net-timeout=10
max-connections=500
CNF
}

# start_node n [extra mariadbd options]: starts the node if it is not running and waits for its socket.
start_node() {
  local n=$1; shift
  running "$n" && return 0
  [ -d "$D/$n/data/mysql" ] || { echo "db-ha: $n has no data folder; run scripts/db-ha-up.sh" >&2; return 1; }
  runuser -u mysql -- nohup mariadbd --defaults-file="$D/$n/my.cnf" "$@" </dev/null >>"$D/$n/mariadbd.out" 2>&1 &
  for _ in $(seq 600); do
    mariadb-admin --socket="$D/$n/mysqld.sock" -uroot ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "db-ha: $n did not start; see $D/$n/error.log" >&2; tail -n 20 "$D/$n/error.log" >&2; return 1
}

# replicate n from: points node n at node `from` (GTID, semi-sync) and starts replication.
replicate() {
  local n=$1 from=$2
  q "$n" "STOP SLAVE; SET GLOBAL read_only=ON;
    CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$(port_of "$from"), MASTER_USER='replication',
      MASTER_PASSWORD='$DB_HA_REPLICATION_PASSWORD', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
    START SLAVE;"
}

# wait_semi_sync n: waits until node n (the primary) has a semi-synchronous replica connected.
wait_semi_sync() {
  for _ in $(seq 300); do
    [ "$(q "$1" "SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'" | cut -f2)" -ge 1 ] 2>/dev/null && return 0
    sleep 0.1
  done
  echo "db-ha: no semi-synchronous replica connected to $1" >&2; return 1
}

primary_node() { for n in n1 n2; do [ "$(q "$n" 'SELECT @@read_only' 2>/dev/null)" = 0 ] && { echo "$n"; return 0; }; done; return 1; }

print_env() {
  local url="mysql://$DB_HA_USER:$DB_HA_PASSWORD@127.0.0.1:$DB_HA_PORT_1,127.0.0.1:$DB_HA_PORT_2/$DB_HA_DATABASE"
  printf 'VOD_DB_URL=%s\nVOD_DB_REPLICA_URL=%s\n' "$url" "$url" >"$D/env"
  cat "$D/env"
}
