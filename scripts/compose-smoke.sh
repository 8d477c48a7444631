#!/usr/bin/env bash
# Smoke test of deploy/compose.yaml with podman-compose, for real: builds what is missing (the Debian and
# Node base images, the vodcloud image, the service images — podman's layer cache keeps reruns fast),
# brings the cluster up, waits for every node's /readyz, uploads a generated clip with tus through the
# published port, waits until it is ready, fetches its master playlist, a variant and a segment through
# the same port, checks that a row written through the API reached the MariaDB replica, then tears
# everything down (volumes included), also on failure. Prints timings.
#   scripts/compose-smoke.sh            (VOD_COMPOSE_PORT: the published port, default 18080)
#   VOD_COMPOSE_KEEP=1 scripts/compose-smoke.sh    leaves the cluster up (tear down: see the last line)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
for bin in podman podman-compose runc mmdebstrap ffmpeg curl openssl; do
  command -v "$bin" >/dev/null || {
    echo "compose-smoke: '$bin' is missing (Debian: apt-get install podman podman-compose runc mmdebstrap ffmpeg curl openssl)" >&2
    exit 1
  }
done
# shellcheck source=container/env.sh
. "$root/scripts/container/env.sh"
project=${VOD_COMPOSE_PROJECT:-vodsmoke}
compose=(podman-compose -f "$root/deploy/compose.yaml" -p "$project")
export VOD_COMPOSE_PORT=${VOD_COMPOSE_PORT:-18080}
export VOD_BASE_IMAGE=localhost/debian:bookworm-slim VOD_NODE_IMAGE=localhost/node:20-bookworm-slim
VOD_ADMIN_API_KEY=${VOD_ADMIN_API_KEY:-$(openssl rand -hex 24)}
VOD_SECRET=${VOD_SECRET:-$(openssl rand -hex 32)}
export VOD_ADMIN_API_KEY VOD_SECRET
base=http://127.0.0.1:$VOD_COMPOSE_PORT
work=$(mktemp -d)
t0=$(date +%s)
now() { date +%s; }
say() { printf '[compose-smoke %4ss] %s\n' "$(($(now) - t0))" "$*"; }

containers() { podman ps -a --filter "label=io.podman.compose.project=$project" --format '{{.Names}}'; }
cleanup() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    say "FAILED (exit $rc); the last log lines of each container:"
    for c in $(containers); do
      echo "----- $c ($(podman inspect -f '{{.State.Status}} exit {{.State.ExitCode}}' "$c" 2>/dev/null))"
      podman logs --tail 15 "$c" 2>&1 | cut -c1-400
    done
  fi
  if [ "${VOD_COMPOSE_KEEP:-0}" = 1 ]; then
    say "left running; tear down with: ${compose[*]} down -v"
  else
    local t=$(now)
    "${compose[@]}" down -v >"$work/down.log" 2>&1 || cat "$work/down.log"
    podman network rm -f "${project}_default" >/dev/null 2>&1 || true
    say "down -v in $(($(now) - t)) s; total $(($(now) - t0)) s"
  fi
  rm -rf "$work"
  exit "$rc"
}

if [ -n "$(containers)" ]; then
  say "leftovers of a previous run of project $project: removing them"
  "${compose[@]}" down -v >/dev/null 2>&1 || true
fi
if curl -s -m 2 -o /dev/null "$base/"; then
  echo "port $VOD_COMPOSE_PORT already answers; set VOD_COMPOSE_PORT to a free port" >&2
  exit 1
fi
trap cleanup EXIT

# 1. Images.
t=$(now)
"$root/scripts/container/base-image.sh"
# The vodcloud image: built when missing, older than the last commit of what goes into it, or asked for.
image=${VOD_IMAGE:-localhost/vodcloud:dev}
src_time=$(git -C "$root" log -1 --format=%ct -- apps packages scripts/build.ts Dockerfile package.json package-lock.json 2>/dev/null || echo 0)
if ! podman image exists "$image" || [ "${VOD_COMPOSE_REBUILD:-0}" = 1 ] ||
  [ "$(podman image inspect "$image" --format '{{.Created.Unix}}')" -lt "${src_time:-0}" ]; then
  "$root/scripts/container/build-image.sh" "$image"
fi
for s in mariadb redis zookeeper s3 nginx; do
  podman build -q --build-arg "BASE_IMAGE=$VOD_BASE_IMAGE" -t "localhost/vodcloud-$s:dev" \
    "$root/deploy/compose/$s" >"$work/build-$s.log" 2>&1 || { cat "$work/build-$s.log"; exit 1; }
done
build_s=$(($(now) - t))
say "images ready in $build_s s"

# 2. Up, and every node ready. (podman here runs no healthcheck timers: without systemd they run only on
#    demand, so this loop runs them.)
t=$(now)
"${compose[@]}" up -d >"$work/up.log" 2>&1 || { cat "$work/up.log"; exit 1; }
say "podman-compose up -d returned after $(($(now) - t)) s"
deadline=$(($(now) + 300))
for c in $(containers); do
  until podman healthcheck run "$c" >/dev/null 2>&1; do
    if [ "$(now)" -gt "$deadline" ]; then
      say "$c not healthy after 300 s"
      exit 1
    fi
    sleep 2
  done
done
until curl -sf -m 5 -o /dev/null "$base/readyz"; do
  [ "$(now)" -le "$deadline" ] || { say "$base/readyz not 200 after 300 s"; exit 1; }
  sleep 1
done
up_s=$(($(now) - t))
say "$(containers | wc -l) containers healthy and $base/readyz 200 in $up_s s"

# 3. Upload through the published port, ready, playback.
ffmpeg -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440 -t 8 \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -shortest "$work/clip.mp4"
t=$(now)
result=$(cd "$root" && node --import tsx scripts/smoke-client.ts "$base" "$work/clip.mp4")
ready_s=$(($(now) - t))
say "client: $result"
field() { node -e 'process.stdout.write(String(JSON.parse(process.argv[1])[process.argv[2]]))' "$result" "$1"; }
video_id=$(field videoId)
tenant_id=$(field tenantId)

# Both upload nodes took part in that one upload (nginx round robin; S3 holds the upload's state).
for n in 1 2; do
  count=$(podman logs "${project}_upload-${n}_1" 2>&1 | grep -c '"url":"/tus' || true)
  [ "$count" -gt 0 ] || { say "upload-$n served no tus request"; exit 1; }
  say "upload-$n served $count tus requests"
done

# 4. Replication: the tenant and the video written through the API are on the replica.
replica="${project}_mariadb-replica_1"
deadline=$(($(now) + 30))
until [ "$(podman exec "$replica" mariadb -N -B -e "SELECT (SELECT COUNT(*) FROM vodcloud.tenants WHERE id='$tenant_id') + (SELECT COUNT(*) FROM vodcloud.videos WHERE id='$video_id' AND status='ready')")" = 2 ]; do
  [ "$(now)" -le "$deadline" ] || { say "tenant $tenant_id / ready video $video_id not on the replica"; exit 1; }
  sleep 1
done
status=$(podman exec "$replica" mariadb -e 'SHOW SLAVE STATUS\G' | grep -E 'Slave_(IO|SQL)_Running:|Gtid_IO_Pos|Seconds_Behind' | xargs)
say "replica has tenant $tenant_id and ready video $video_id ($status)"

# 5. Figures.
for s in vodcloud vodcloud-mariadb vodcloud-redis vodcloud-zookeeper vodcloud-s3 vodcloud-nginx; do
  img=localhost/$s:dev
  [ "$s" = vodcloud ] && img=$image
  printf '  image %-36s %5s MB\n' "$img" "$(($(podman image inspect "$img" --format '{{.Size}}') / 1000000))"
done
say "PASS: images $build_s s, up to ready $up_s s, upload to ready + playback $ready_s s, total before teardown $(($(now) - t0)) s"
