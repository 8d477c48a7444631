#!/usr/bin/env bash
# Builds the vodcloud image with podman from local base images (scripts/container/base-image.sh makes
# them once), for machines that cannot pull from an image registry. Prints the build time and image size.
#   scripts/container/build-image.sh [tag]     (default localhost/vodcloud:dev)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
tag=${1:-localhost/vodcloud:dev}
"$here/base-image.sh"
t=$(date +%s)
# docker format: OCI images drop HEALTHCHECK.
podman build --format docker \
  --build-arg BASE_IMAGE=localhost/debian:bookworm-slim \
  --build-arg NODE_IMAGE=localhost/node:20-bookworm-slim \
  -t "$tag" -f "$root/Dockerfile" "$root" >&2
size=$(podman image inspect "$tag" --format '{{.Size}}')
echo "image $tag built in $(( $(date +%s) - t )) s; size $(( size / 1000000 )) MB"
