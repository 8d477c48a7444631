#!/usr/bin/env bash
# Start a throwaway S3-compatible store for development and integration tests:
# a single-node Ceph cluster (one monitor, one in-memory "memstore" OSD, one RADOS Gateway
# on the beast frontend) bound to 127.0.0.1. No systemd, no cephx. Data lives in RAM and is
# discarded by scripts/s3-down.sh.
#
# Needs the Debian packages radosgw, ceph-mon and ceph-osd (install them with
# --no-install-recommends); this script does not install anything itself.
#
# Settings (environment):
#   CEPH_BASE            state directory   (default ${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/ceph)
#   RGW_PORT             gateway port      (default 7480)
#   CEPH_MON_PORT        monitor port      (default 16789)
#   S3_ACCESS_KEY        access key        (default ciaccess)
#   S3_SECRET_KEY        secret key        (default cisecret)
#   CEPH_MEMSTORE_BYTES  RAM cap for data  (default 2147483648 = 2 GiB)
#
# On success it writes $CEPH_BASE/s3.env (S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION)
# and prints it. Running it again while the store is up reports that and exits 0.
set -euo pipefail

BASE=${CEPH_BASE:-${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/ceph}
PORT=${RGW_PORT:-7480}
MON_PORT=${CEPH_MON_PORT:-16789}
ACCESS=${S3_ACCESS_KEY:-ciaccess}
SECRET=${S3_SECRET_KEY:-cisecret}
HERE=$(cd "$(dirname "$0")" && pwd)
ENV_FILE=$BASE/s3.env
START_NS=$(date +%s%N)
elapsed() { echo "$(((($(date +%s%N) - START_NS) / 1000000)))ms"; }
alive() { [ -f "$BASE/run/$1.pid" ] && kill -0 "$(cat "$BASE/run/$1.pid")" 2>/dev/null; }
write_env() {
  printf 'S3_ENDPOINT=http://127.0.0.1:%s\nS3_ACCESS_KEY=%s\nS3_SECRET_KEY=%s\nS3_REGION=us-east-1\n' \
    "$PORT" "$ACCESS" "$SECRET" >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# Already up? Then leave it alone, make sure the env file is there, and succeed.
if alive mon && alive osd && alive rgw; then
  if curl -s -m 2 -o /dev/null "http://127.0.0.1:$PORT/"; then
    [ -s "$ENV_FILE" ] || write_env
    echo "ceph s3 already running at http://127.0.0.1:$PORT (env in $ENV_FILE)"
    cat "$ENV_FILE"
    exit 0
  fi
fi
# Partly up (a crashed daemon, a stale pid file): clean up before starting afresh.
if alive mon || alive osd || alive rgw; then
  echo "ceph s3 is only partly running; stopping the leftovers first"
  "$HERE/s3-down.sh"
fi

# Something else (another instance with a different CEPH_BASE?) on our ports: say so instead of failing later.
if curl -s -m 1 -o /dev/null "http://127.0.0.1:$PORT/"; then
  echo "port $PORT already answers but not for $BASE; stop that instance or set RGW_PORT/CEPH_MON_PORT" >&2
  exit 1
fi

for bin in ceph ceph-mon ceph-osd radosgw radosgw-admin monmaptool curl; do
  command -v "$bin" >/dev/null || {
    echo "missing '$bin': install the Debian packages radosgw ceph-mon ceph-osd (--no-install-recommends) and curl" >&2
    exit 1
  }
done

on_error() {
  echo "s3-up.sh failed at line $1; logs are in $BASE/log; stopping what was started" >&2
  "$HERE/s3-down.sh" >/dev/null 2>&1 || true
}
trap 'on_error $LINENO' ERR

rm -rf "$BASE/data" "$BASE/run" "$BASE/log" "$ENV_FILE"
mkdir -p "$BASE/data/mon.a" "$BASE/data/osd.0" "$BASE/data/rgw" "$BASE/run" "$BASE/log"
CLUSTER_ID=$(cat /proc/sys/kernel/random/uuid)
export CEPH_CONF=$BASE/ceph.conf

# msgr v1 only: a v2 monitor address makes v1 clients hang. Short paxos intervals make
# pool and user creation fast on a single node.
cat >"$CEPH_CONF" <<CONF
[global]
fsid = $CLUSTER_ID
mon_host = v1:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
ms_bind_msgr2 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
auth_supported = none
run_dir = $BASE/run
admin_socket = $BASE/run/\$name.asok
log_file = $BASE/log/\$name.log
pid_file = $BASE/run/\$name.ceph.pid
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
mon_osd_report_timeout = 60
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
rgw_enable_usage_log = false

[mon.a]
mon_data = $BASE/data/mon.a

[osd.0]
osd_data = $BASE/data/osd.0
osd_objectstore = memstore
memstore_device_bytes = ${CEPH_MEMSTORE_BYTES:-2147483648}
osd_max_object_size = 134217728

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_data = $BASE/data/rgw
rgw_dns_name = localhost
CONF

# 1. monitor
monmaptool --create --fsid "$CLUSTER_ID" --addv a "[v1:127.0.0.1:$MON_PORT]" "$BASE/data/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$BASE/data/monmap"
ceph-mon -i a -f >"$BASE/log/mon.out" 2>&1 &
echo $! >"$BASE/run/mon.pid"
# A monitor that has just started may refuse commands (EPERM, "problem getting command descriptions")
# until its auth is up: ask again until it answers, within 60 s.
for i in $(seq 1 60); do
  if timeout 30 ceph mon stat --connect-timeout 20 >/dev/null 2>&1; then break; fi
  if [ "$i" = 60 ]; then
    timeout 30 ceph mon stat --connect-timeout 20 >/dev/null
  fi
  sleep 1
done
echo "monitor up after $(elapsed)"

# 2. one OSD backed by RAM
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$(ceph osd new "$OSD_UUID")
if [ "$OSD_ID" != 0 ]; then
  echo "expected the new OSD to get id 0, got '$OSD_ID'" >&2
  false
fi
ceph-osd -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$BASE/log/osd-mkfs.out" 2>&1
# The OSD sometimes loses a start-up race with the monitor ("wrong fsid" on its first command) and
# exits; starting it again (same data) then works, so it gets three tries.
up=
for attempt in 1 2 3; do
  ceph-osd -i 0 -f >>"$BASE/log/osd.out" 2>&1 &
  echo $! >"$BASE/run/osd.pid"
  for _ in $(seq 100); do
    if ceph osd stat 2>/dev/null | grep -q '1 up'; then up=1; break; fi
    alive osd || break
    sleep 0.2
  done
  [ -n "$up" ] && break
  echo "the OSD did not come up (try $attempt); restarting it" >&2
  kill "$(cat "$BASE/run/osd.pid")" 2>/dev/null || true
  sleep 0.5
done
if [ -z "$up" ]; then
  echo "the OSD did not come up; see $BASE/log/osd.0.log" >&2
  false
fi
echo "osd up after $(elapsed)"

# 3. the pools radosgw would otherwise create one by one on first use (seconds each)
for pool in .rgw.root default.rgw.log default.rgw.control default.rgw.meta \
  default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
  ceph osd pool create "$pool" 8 8 >/dev/null 2>&1 || true
  ceph osd pool application enable "$pool" rgw >/dev/null 2>&1 || true
done
echo "pools ready after $(elapsed)"

# 4. the gateway
radosgw -n client.rgw.a -f >"$BASE/log/rgw.out" 2>&1 &
echo $! >"$BASE/run/rgw.pid"
up=
for _ in $(seq 600); do
  if curl -s -m 1 -o /dev/null "http://127.0.0.1:$PORT/"; then up=1; break; fi
  alive rgw || break
  sleep 0.1
done
if [ -z "$up" ]; then
  echo "radosgw did not start listening on :$PORT; see $BASE/log/rgw.out" >&2
  false
fi
echo "gateway listening after $(elapsed)"

# 5. an S3 user with fixed keys
timeout 60 radosgw-admin user create --uid ci --display-name ci \
  --access-key "$ACCESS" --secret-key "$SECRET" >/dev/null
write_env
echo "ceph s3 ready at http://127.0.0.1:$PORT after $(elapsed) (env in $ENV_FILE)"
cat "$ENV_FILE"
