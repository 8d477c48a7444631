#!/usr/bin/env bash
# Stops the ZooKeeper started by scripts/zk-up.sh (by its recorded pid) and waits until it has exited.
#   ZK_KEEP_DATA=1  keep the data directory (default: remove it too)
set -uo pipefail

base="${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/zk"
pidfile="$base/zk.pid"

if [ ! -f "$pidfile" ]; then
  echo "zookeeper not running (no pid file in $base)"
  exit 0
fi
pid="$(cat "$pidfile")"
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "zookeeper (pid $pid) did not stop after 10 s; sending SIGKILL"
    kill -9 "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  echo "zookeeper stopped (pid $pid)"
else
  echo "zookeeper was not running (stale pid $pid)"
fi
rm -f "$pidfile"
if [ "${ZK_KEEP_DATA:-0}" != 1 ]; then rm -rf "$base/data"; fi
