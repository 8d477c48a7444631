#!/usr/bin/env bash
# Installs the Debian packages vodcloud and its tests use, if any is missing:
#   ffmpeg (media), zookeeper (registry), radosgw + ceph-mon + ceph-osd (a real S3 store for tests),
#   chromium + fonts-dejavu-core + fonts-wqy-microhei (real-browser tests; the console's screenshots in
#   Simplified Chinese need a CJK font), nginx-light + libnginx-mod-rtmp (the live recorder the live-import
#   tests and scripts/rtmp-up.sh run).
# Usage: scripts/install-system-deps.sh [--runtime|--bench|--containers]
#   --runtime: only what `vodcloud serve` needs, i.e. ffmpeg; --bench: also wrk, curl, sqlite3 and the
#   MariaDB and PostgreSQL clients (npm run bench installs them itself when missing; nginx-light, the other
#   reference of `npm run bench -- upload|delivery`, is among the test packages); --containers: also
#   podman, runc, mmdebstrap and podman-compose (the image, Compose and `podman play kube` smoke tests).
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ffmpeg && have ffprobe || need+=(ffmpeg)
if [ "${1:-}" != "--runtime" ]; then
  { have java && [ -f /usr/share/java/zookeeper.jar ]; } || need+=(zookeeper)
  have radosgw || need+=(radosgw)
  have ceph-mon || need+=(ceph-mon)
  have ceph-osd || need+=(ceph-osd)
  have chromium || need+=(chromium)
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
  [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
  # listed together: the module depends on an nginx ABI, and nginx-light is the smallest nginx that provides it
  have nginx || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
  [ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need+=(libnginx-mod-rtmp)
fi
if [ "${1:-}" = "--bench" ]; then
  have wrk || need+=(wrk)
  have curl || need+=(curl)
  # the references of `npm run bench -- backup`
  have sqlite3 || need+=(sqlite3)
  have mariadb-dump || need+=(mariadb-client)
  have pg_dump || need+=(postgresql-client)
fi
if [ "${1:-}" = "--containers" ]; then
  have podman || need+=(podman)
  have runc || need+=(runc)
  # podman's pause image for `podman play kube` (a Recommends of podman, which --no-install-recommends skips)
  have catatonit || need+=(catatonit)
  # name resolution between Compose containers on podman's CNI network backend (Debian 12's default when
  # netavark is absent); also skipped as a Recommends
  [ -x /usr/lib/cni/dnsname ] || need+=(golang-github-containernetworking-plugin-dnsname)
  have mmdebstrap || need+=(mmdebstrap)
  have podman-compose || need+=(podman-compose)
fi
[ ${#need[@]} -eq 0 ] && { echo "system packages present"; exit 0; }
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
