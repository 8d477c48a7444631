#!/usr/bin/env bash
# Stops the nodes started by scripts/db-ha-up.sh (SIGTERM, waits for them). --purge also removes their data.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=db-ha-lib.sh
. ./db-ha-lib.sh
for n in n1 n2; do
  p=$(pid_of "$n")
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p"
    for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p"
    echo "db-ha: $n stopped"
  fi
done
if [ "${1:-}" = --purge ]; then rm -rf "$D"; echo "db-ha: $D removed"; fi
