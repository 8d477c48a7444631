#!/bin/bash
# vod-mariadb serve|health — runs mariadbd as the primary or a replica (MARIADB_ROLE), initialising the
# data folder on first start. Settings (environment):
#   MARIADB_ROLE              primary | replica (default primary)
#   MARIADB_SERVER_ID         default 1 (primary) / 2 (replica)
#   MARIADB_DATABASE, MARIADB_USER, MARIADB_PASSWORD   the application's database and user (primary)
#   MARIADB_REPLICATION_USER, MARIADB_REPLICATION_PASSWORD
#   MARIADB_PRIMARY_HOST      the primary's address (replica; default mariadb-primary)
set -euo pipefail
role=${MARIADB_ROLE:-primary}
datadir=/var/lib/mysql
marker=$datadir/.vodcloud-initialised
repl_user=${MARIADB_REPLICATION_USER:-replication}
repl_password=${MARIADB_REPLICATION_PASSWORD:?set MARIADB_REPLICATION_PASSWORD}

if [ "${1:-serve}" = health ]; then
  [ -f "$marker" ] || exit 1
  if [ "$role" = replica ]; then
    status=$(mariadb --protocol=socket -e 'SHOW SLAVE STATUS\G')
    grep -q 'Slave_IO_Running: Yes' <<<"$status" && grep -q 'Slave_SQL_Running: Yes' <<<"$status"
  else
    mariadb-admin --protocol=socket ping --silent >/dev/null
  fi
  exit
fi

sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

if [ ! -d "$datadir/mysql" ]; then
  echo "vod-mariadb: initialising $datadir ($role)"
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
    --auth-root-authentication-method=socket >/dev/null
fi
args=(--user=mysql --datadir="$datadir")
if [ "$role" = replica ]; then
  args+=(--server-id="${MARIADB_SERVER_ID:-2}" --read-only=ON)
else
  args+=(--server-id="${MARIADB_SERVER_ID:-1}")
fi
mariadbd "${args[@]}" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
for _ in $(seq 240); do
  mariadb-admin --protocol=socket ping --silent >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit; }
  sleep 0.5
done

if [ ! -f "$marker" ]; then
  if [ "$role" = primary ]; then
    db=${MARIADB_DATABASE:-vodcloud}
    user=${MARIADB_USER:-vodcloud}
    password=${MARIADB_PASSWORD:?set MARIADB_PASSWORD}
    # Binary-logged on purpose: the replica starts from an empty GTID position and gets these too.
    mariadb --protocol=socket <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS $(sql_quote "$user")@'%' IDENTIFIED BY $(sql_quote "$password");
GRANT ALL PRIVILEGES ON \`$db\`.* TO $(sql_quote "$user")@'%';
CREATE USER IF NOT EXISTS $(sql_quote "$repl_user")@'%' IDENTIFIED BY $(sql_quote "$repl_password");
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO $(sql_quote "$repl_user")@'%';
SQL
  else
    primary=${MARIADB_PRIMARY_HOST:-mariadb-primary}
    echo "vod-mariadb: waiting for the primary $primary"
    until mariadb -h "$primary" -u "$repl_user" -p"$repl_password" -e 'SELECT 1' >/dev/null 2>&1; do
      kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit; }
      sleep 1
    done
    mariadb --protocol=socket <<SQL
STOP SLAVE;
SET GLOBAL gtid_slave_pos = '';
CHANGE MASTER TO MASTER_HOST=$(sql_quote "$primary"), MASTER_PORT=3306,
  MASTER_USER=$(sql_quote "$repl_user"), MASTER_PASSWORD=$(sql_quote "$repl_password"),
  MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=5;
START SLAVE;
SQL
  fi
  touch "$marker"
  echo "vod-mariadb: $role initialised"
fi
# Until mariadbd exits (a SIGTERM interrupts wait: forwarded by the trap, then waited for again).
set +e
rc=0
while kill -0 "$pid" 2>/dev/null; do wait "$pid"; rc=$?; done
exit "$rc"
