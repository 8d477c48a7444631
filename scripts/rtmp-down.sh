#!/usr/bin/env bash
# Stops the nginx-rtmp started by scripts/rtmp-up.sh (by its pid file) and waits until it has exited.
# QUIT first: nginx finishes its recordings (and sends their record_done) before it exits.
#   RTMP_KEEP_DATA=1  keep the recordings and HLS segments (default: remove them too)
set -uo pipefail

base="${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/rtmp"
rec="${RTMP_REC_DIR:-$base/rec}"
pidfile="$base/nginx.pid"

if [ ! -f "$pidfile" ]; then
  echo "nginx-rtmp not running (no pid file in $base)"
  exit 0
fi
pid="$(cat "$pidfile")"
if kill -0 "$pid" 2>/dev/null; then
  for signal in QUIT TERM KILL; do
    kill -s "$signal" "$pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break 2
      sleep 0.1
    done
    echo "nginx-rtmp (pid $pid) still running 5 s after SIG$signal"
  done
  echo "nginx-rtmp stopped (pid $pid)"
else
  echo "nginx-rtmp was not running (stale pid $pid)"
fi
rm -f "$pidfile"
if [ "${RTMP_KEEP_DATA:-0}" != 1 ]; then rm -rf "$rec" "$base/hls"; fi
