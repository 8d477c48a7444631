#!/usr/bin/env bash
# The container smoke test (CI runs it): builds the image (scripts/container/build-image.sh), then
#   1. `podman run` it on the embedded defaults: upload → ready → HLS served through the published port,
#      then SIGTERM (podman stop) must end it within the shutdown bound, with exit code 0;
#   2. `podman play kube deploy/kubernetes/local/vodcloud.yaml`: the same upload → ready → HLS on port 18080.
# Prints the timings (build, start → ready, upload → ready, stop).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
image=${VOD_IMAGE:-localhost/vodcloud:dev}
name=vodcloud-smoke-$$
port=${VOD_SMOKE_PORT:-18090}
key=smoke-admin-key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
shutdown_ms=10000
kube=$root/deploy/kubernetes/local/vodcloud.yaml
clip=$(mktemp --suffix=.mp4)
cleanup() {
  rm -f "$clip"
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  podman play kube --down "$kube" >/dev/null 2>&1 || true
}
trap cleanup EXIT
now() { date +%s%N; }
ms() { echo $(( ($(now) - $1) / 1000000 )); }
wait_ready() { # url, seconds
  local deadline=$(( $(date +%s) + $2 ))
  until curl -fs -o /dev/null "$1/readyz" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "not ready after $2 s: $1" >&2; return 1; }
    sleep 0.2
  done
}

ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440 -t 6 \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -shortest "$clip"
t=$(now)
if [ "${VOD_SMOKE_BUILD:-1}" = 1 ]; then "$here/build-image.sh" "$image"; fi
build_ms=$(ms "$t")
size=$(podman image inspect "$image" --format '{{.Size}}')

# 1. podman run
t=$(now)
podman run -d --name "$name" --log-driver k8s-file -p "127.0.0.1:$port:8080" \
  -e VOD_ADMIN_API_KEY="$key" -e VOD_PUBLIC_URL="http://127.0.0.1:$port" \
  -e VOD_SHUTDOWN_TIMEOUT_MS=$shutdown_ms "$image" >/dev/null
wait_ready "http://127.0.0.1:$port" 60
start_ms=$(ms "$t")
[ "$(podman inspect "$name" --format '{{.Config.User}}')" = "10001:10001" ] || { echo "not running as uid 10001" >&2; exit 1; }
# The image's HEALTHCHECK command answers (podman runs it on demand here: no systemd timers).
podman healthcheck run "$name" >/dev/null 2>&1 || { echo "the image's HEALTHCHECK failed" >&2; exit 1; }
run_result=$(VOD_ADMIN_API_KEY=$key node --import tsx "$root/scripts/smoke-client.ts" "http://127.0.0.1:$port" "$clip")
echo "podman run: $run_result"
t=$(now)
podman stop -t $(( shutdown_ms / 1000 + 5 )) "$name" >/dev/null 2>&1
stop_ms=$(ms "$t")
code=$(podman inspect "$name" --format '{{.State.ExitCode}}')
if [ "$code" != 0 ] || [ "$stop_ms" -gt $(( shutdown_ms + 2000 )) ]; then
  echo "SIGTERM: exit code $code after $stop_ms ms (bound $shutdown_ms ms)" >&2
  podman logs --tail 30 "$name" >&2
  exit 1
fi
# Drained and stopped, not killed: the server's last log line says so.
podman logs "$name" 2>&1 | grep -q '"msg":"stopped"' || { echo "no graceful 'stopped' log line" >&2; exit 1; }

# 2. podman play kube (the local manifest uses localhost/vodcloud:dev and its own fixed admin key)
kube_key=$(sed -n 's/.*VOD_ADMIN_API_KEY, value: \([^ }]*\).*/\1/p' "$kube")
t=$(now)
podman play kube "$kube" >/tmp/vodcloud-smoke-kube.log 2>&1 || { cat /tmp/vodcloud-smoke-kube.log >&2; exit 1; }
wait_ready "http://127.0.0.1:18080" 90
kube_start_ms=$(ms "$t")
kube_result=$(VOD_ADMIN_API_KEY=$kube_key node --import tsx "$root/scripts/smoke-client.ts" "http://localhost:18080" "$clip")
echo "podman play kube: $kube_result"
podman play kube --down "$kube" >/dev/null 2>&1

echo "container smoke: image $image $(( size / 1000000 )) MB, build ${build_ms} ms; podman run: start→ready ${start_ms} ms, SIGTERM→exit ${stop_ms} ms (code 0); play kube: start→ready ${kube_start_ms} ms"
