#!/usr/bin/env bash
# Starts every real engine the test suites run against and writes the environment that points
# the suites at them to $VOD_SERVICES_DIR/test.env:
#   PostgreSQL, MariaDB, Redis (used if already running, else started), ZooKeeper, Ceph RGW (S3).
# Usage: scripts/services-up.sh && set -a && . "${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/test.env" && set +a
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export VOD_SERVICES_DIR=${VOD_SERVICES_DIR:-/tmp/vodcloud-services}
mkdir -p "$VOD_SERVICES_DIR"
T=$(date +%s%N)
"$here/db-up.sh"
"$here/zk-up.sh"
"$here/s3-up.sh"
ceph_base=${CEPH_BASE:-$VOD_SERVICES_DIR/ceph}
# shellcheck disable=SC1091
. "$ceph_base/s3.env"
cat > "$VOD_SERVICES_DIR/test.env" <<ENV
VOD_TEST_PG_URL=postgres://postgres@127.0.0.1:${PG_PORT:-5432}/postgres
VOD_TEST_MYSQL_URL=mysql://root@127.0.0.1:${MARIADB_PORT:-3306}
VOD_TEST_REDIS_URL=redis://127.0.0.1:${REDIS_PORT:-6379}
VOD_TEST_ZK_URL=zookeeper://127.0.0.1:${ZK_PORT:-2181}
VOD_TEST_S3_ENDPOINT=$S3_ENDPOINT
VOD_TEST_S3_ACCESS_KEY=$S3_ACCESS_KEY
VOD_TEST_S3_SECRET_KEY=$S3_SECRET_KEY
ENV
echo "services up in $(( ($(date +%s%N) - T) / 1000000 )) ms; environment in $VOD_SERVICES_DIR/test.env"
