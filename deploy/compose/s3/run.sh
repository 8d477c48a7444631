#!/bin/bash
# vod-ceph-s3 serve|health — a one-node Ceph with a RADOS Gateway (S3 on :7480). First start: monitor,
# a BlueStore OSD on a sparse file, the gateway's pools and an S3 user with the given keys; later starts
# reuse the data in $CEPH_S3_DATA. Settings (environment):
#   S3_ACCESS_KEY, S3_SECRET_KEY   the S3 user's keys (required)
#   CEPH_S3_BLOCK_BYTES            size of the OSD's sparse block file (default 20 GiB)
#   CEPH_S3_MEMORY_BYTES           the OSD's memory target (default 1 GiB)
set -euo pipefail
data=${CEPH_S3_DATA:-/var/lib/ceph-s3}
port=7480
export CEPH_CONF=$data/ceph.conf
ready=$data/.vodcloud-initialised

if [ "${1:-serve}" = health ]; then
  [ -f "$ready" ] && curl -s -m 3 -o /dev/null "http://127.0.0.1:$port/"
  exit
fi
access=${S3_ACCESS_KEY:?set S3_ACCESS_KEY}
secret=${S3_SECRET_KEY:?set S3_SECRET_KEY}
mkdir -p "$data/mon.a" "$data/osd.0" "$data/rgw" "$data/log" /run/ceph
[ -s "$data/fsid" ] || cat /proc/sys/kernel/random/uuid >"$data/fsid"
fsid=$(cat "$data/fsid")

# msgr v1 on loopback only (a v2 monitor address makes v1 clients hang); short paxos intervals make
# pool and user creation fast on one node.
cat >"$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon_host = v1:127.0.0.1:6789
public_addr = 127.0.0.1
ms_bind_msgr2 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
auth_supported = none
run_dir = /run/ceph
admin_socket = /run/ceph/\$name.asok
log_file = $data/log/\$name.log
log_max_recent = 1000
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
mon_osd_report_timeout = 60
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
rgw_enable_usage_log = false

[mon.a]
mon_data = $data/mon.a

[osd.0]
osd_data = $data/osd.0
osd_objectstore = bluestore
bluestore_block_path = $data/osd.0.block
bluestore_block_create = true
bluestore_block_size = ${CEPH_S3_BLOCK_BYTES:-21474836480}
bluestore_block_db_create = false
bluestore_block_wal_create = false
osd_memory_target = ${CEPH_S3_MEMORY_BYTES:-1073741824}
osd_max_object_size = 134217728

[client.rgw.a]
rgw_frontends = beast endpoint=0.0.0.0:$port
rgw_data = $data/rgw
CONF

pids=()
stop() {
  # The gateway first, the monitor last.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'stop; exit 0' TERM INT
fail() { echo "vod-ceph-s3: $*" >&2; tail -n 20 "$data"/log/*.log >&2 || true; stop; exit 1; }

if [ ! -f "$data/mon.a/store.db/CURRENT" ]; then
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:6789]" "$data/monmap" >/dev/null
  ceph-mon --mkfs -i a --monmap "$data/monmap"
fi
ceph-mon -i a -f &
pids+=($!)
timeout 60 ceph mon stat --connect-timeout 30 >/dev/null || fail "the monitor did not start"

if [ ! -s "$data/osd.0/whoami" ]; then
  # The same uuid on a retry: 'osd new' then answers the same id.
  [ -s "$data/osd.uuid" ] || cat /proc/sys/kernel/random/uuid >"$data/osd.uuid"
  osd_uuid=$(cat "$data/osd.uuid")
  id=$(ceph osd new "$osd_uuid")
  [ "$id" = 0 ] || fail "expected OSD id 0, got $id"
  ceph-osd -i 0 --mkfs --osd-uuid "$osd_uuid" || fail "OSD mkfs failed"
fi
# The OSD sometimes loses a start-up race with the monitor and exits: three tries.
up=
for attempt in 1 2 3; do
  ceph-osd -i 0 -f &
  osd=$!
  for _ in $(seq 300); do
    if ceph osd stat 2>/dev/null | grep -q '1 up'; then up=1; break; fi
    kill -0 "$osd" 2>/dev/null || break
    sleep 0.2
  done
  [ -n "$up" ] && break
  echo "vod-ceph-s3: the OSD did not come up (try $attempt)" >&2
  kill "$osd" 2>/dev/null || true
  wait "$osd" 2>/dev/null || true
done
[ -n "$up" ] || fail "the OSD did not come up"
pids+=("$osd")

if [ ! -f "$ready" ]; then
  # The pools the gateway would otherwise create one by one on first use (seconds each).
  for pool in .rgw.root default.rgw.log default.rgw.control default.rgw.meta \
    default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
    ceph osd pool create "$pool" 8 8 >/dev/null 2>&1 || true
    ceph osd pool application enable "$pool" rgw >/dev/null 2>&1 || true
  done
fi

radosgw -n client.rgw.a -f &
pids+=($!)
for _ in $(seq 600); do
  curl -s -m 1 -o /dev/null "http://127.0.0.1:$port/" && break
  kill -0 "${pids[2]}" 2>/dev/null || fail "radosgw exited"
  sleep 0.1
done
if ! radosgw-admin user info --uid vodcloud >/dev/null 2>&1; then
  timeout 60 radosgw-admin user create --uid vodcloud --display-name vodcloud \
    --access-key "$access" --secret-key "$secret" >/dev/null || fail "could not create the S3 user"
else
  # Keys given now win (the same access key is updated in place).
  radosgw-admin key create --uid vodcloud --key-type s3 --access-key "$access" --secret-key "$secret" >/dev/null
fi
touch "$ready"
echo "vod-ceph-s3: S3 ready on :$port"

# Until one daemon exits (then stop the others: the restart policy brings the container back).
set +e
wait -n "${pids[@]}"
echo "vod-ceph-s3: a daemon exited; stopping" >&2
stop
exit 1
