#!/usr/bin/env bash
# Stops what scripts/services-up.sh started (ZooKeeper and Ceph; databases it started itself).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export VOD_SERVICES_DIR=${VOD_SERVICES_DIR:-/tmp/vodcloud-services}
"$here/s3-down.sh" || true
"$here/zk-down.sh" || true
B=$VOD_SERVICES_DIR/db
[ -f "$B/redis.pid" ] && kill "$(cat "$B/redis.pid")" 2>/dev/null
[ -f "$B/maria/mysqld.pid" ] && kill "$(cat "$B/maria/mysqld.pid")" 2>/dev/null
[ -d "$B/pg/data" ] && runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl" -D "$B/pg/data" -m fast stop >/dev/null 2>&1
exit 0
