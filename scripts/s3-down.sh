#!/usr/bin/env bash
# Stop the Ceph S3 store started by scripts/s3-up.sh: the gateway, the OSD, then the monitor,
# each by the pid recorded at start. Its data lived in RAM and is gone afterwards.
# Same CEPH_BASE / VOD_SERVICES_DIR settings as s3-up.sh. Safe to run when nothing is running.
set -uo pipefail
BASE=${CEPH_BASE:-${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/ceph}
stopped=0
for daemon in rgw osd mon; do
  pidfile=$BASE/run/$daemon.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    stopped=$((stopped + 1))
  fi
  rm -f "$pidfile"
done
rm -rf "$BASE/data" "$BASE/s3.env"
if [ "$stopped" -gt 0 ]; then echo "ceph s3 stopped"; else echo "ceph s3 was not running"; fi
