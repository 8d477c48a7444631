#!/usr/bin/env bash
# Makes sure PostgreSQL, MariaDB and Redis answer on 127.0.0.1 (5432, 3306, 6379).
# Any that does not answer is started as a throwaway instance under $VOD_SERVICES_DIR/db (no systemd),
# installing its Debian package first if needed. Already-running servers are used as they are.
set -euo pipefail
B=${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/db; mkdir -p "$B"; chmod 755 "$B"
PG_PORT=${PG_PORT:-5432}; MARIADB_PORT=${MARIADB_PORT:-3306}; REDIS_PORT=${REDIS_PORT:-6379}
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ms() { echo "$(( ($(date +%s%N) - $1) / 1000000 )) ms"; }
install_if_missing() { command -v "$1" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }

if up "$REDIS_PORT"; then echo "redis: already answering on $REDIS_PORT"; else
  T=$(date +%s%N); install_if_missing redis-server redis-server; mkdir -p "$B/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$B/redis" --daemonize yes --pidfile "$B/redis.pid" --logfile "$B/redis/redis.log"
  until redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do sleep 0.05; done; echo "redis: started in $(ms $T)"
fi

if up "$PG_PORT"; then echo "postgres: already answering on $PG_PORT"; else
  T=$(date +%s%N); PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$PGBIN" ] || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); }
  rm -rf "$B/pg"; mkdir -p "$B/pg"; chown postgres:postgres "$B/pg"
  runuser -u postgres -- "$PGBIN/initdb" -D "$B/pg/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$B/pg/data" -l "$B/pg/pg.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $B/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
  echo "postgres: started in $(ms $T)"
fi

if up "$MARIADB_PORT"; then echo "mariadb: already answering on $MARIADB_PORT"; else
  T=$(date +%s%N); install_if_missing mariadbd mariadb-server
  rm -rf "$B/maria"; mkdir -p "$B/maria"; chown mysql:mysql "$B/maria"
  mariadb-install-db --user=mysql --datadir="$B/maria/data" --auth-root-authentication-method=normal --skip-test-db >"$B/maria/install.log" 2>&1
  runuser -u mysql -- mariadbd --no-defaults --datadir="$B/maria/data" --socket="$B/maria/mysqld.sock" --pid-file="$B/maria/mysqld.pid" \
    --bind-address=127.0.0.1 --port="$MARIADB_PORT" --skip-log-bin --innodb-flush-log-at-trx-commit=0 --log-error="$B/maria/error.log" </dev/null >/dev/null 2>&1 &
  until mariadb-admin --socket="$B/maria/mysqld.sock" -uroot ping >/dev/null 2>&1; do sleep 0.05; done
  echo "mariadb: started in $(ms $T)"
fi
