#!/usr/bin/env bash
# Starts a MariaDB primary (n1, 127.0.0.1:13307) and a replica (n2, 13308) on this machine, with GTID
# replication, semi-synchronous (AFTER_SYNC), read-only replica; creates the application's database and users
# on first start. Idempotent: nodes already running are left as they are. Prints the VOD_DB_URL and
# VOD_DB_REPLICA_URL that list both nodes (vodcloud finds the writable one itself), also written to $DB_HA_DIR/env.
# Settings: see scripts/db-ha-lib.sh. Stop with scripts/db-ha-down.sh; fail over with scripts/db-ha-failover.sh.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=db-ha-lib.sh
. ./db-ha-lib.sh
command -v mariadbd >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
T=$(date +%s%N)
fresh=0
for n in n1 n2; do
  write_config "$n"
  if [ ! -d "$D/$n/data/mysql" ]; then
    fresh=1
    mariadb-install-db --user=mysql --datadir="$D/$n/data" --auth-root-authentication-method=normal \
      --skip-test-db >"$D/$n/install.log" 2>&1
  fi
done
if [ "$fresh" = 1 ]; then
  # A new pair: both data folders are fresh and identical, n1 becomes the primary, n2 replicates everything
  # n1 writes from here (the users and the database included).
  rm -f "$D/primary"
  start_node n1; start_node n2
  for n in n1 n2; do
    qroot "$n" "SET sql_log_bin=0; CREATE USER IF NOT EXISTS 'vodadmin'@'127.0.0.1' IDENTIFIED BY '$DB_HA_ADMIN_PASSWORD';
      GRANT ALL PRIVILEGES ON *.* TO 'vodadmin'@'127.0.0.1' WITH GRANT OPTION;"
  done
  q n1 "SET GLOBAL read_only=OFF;
    CREATE DATABASE IF NOT EXISTS \`$DB_HA_DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
    CREATE USER IF NOT EXISTS '$DB_HA_USER'@'127.0.0.1' IDENTIFIED BY '$DB_HA_PASSWORD';
    GRANT ALL PRIVILEGES ON \`$DB_HA_DATABASE\`.* TO '$DB_HA_USER'@'127.0.0.1';
    CREATE USER IF NOT EXISTS 'replication'@'127.0.0.1' IDENTIFIED BY '$DB_HA_REPLICATION_PASSWORD';
    GRANT REPLICATION SLAVE, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO 'replication'@'127.0.0.1';
    GRANT SLAVE MONITOR, BINLOG MONITOR ON *.* TO '$DB_HA_USER'@'127.0.0.1';"
  replicate n2 n1
  echo n1 >"$D/primary"
else
  primary=$(cat "$D/primary" 2>/dev/null || echo n1)
  start_node "$primary"
  # The other node restarts as a replica: with semi-sync on, its crash recovery drops transactions it wrote as
  # a primary that no replica acknowledged (--init-rpl-role=SLAVE), so it can follow the primary again.
  start_node "$(other "$primary")" --init-rpl-role=SLAVE
  if [ "$(primary_node || true)" = "" ]; then q "$primary" "SET GLOBAL read_only=OFF"; fi
  [ "$(q "$(other "$primary")" "SHOW SLAVE STATUS" | wc -l)" -gt 0 ] || replicate "$(other "$primary")" "$primary"
fi
primary=$(primary_node)
wait_semi_sync "$primary"
echo "db-ha: primary $primary (127.0.0.1:$(port_of "$primary")), replica $(other "$primary") (127.0.0.1:$(port_of "$(other "$primary")")), semi-sync on, up in $(ms_since "$T")"
print_env
