#!/usr/bin/env bash
# Makes the Debian bookworm base image locally (for machines that cannot pull from an image registry):
#   localhost/debian:bookworm-slim  — mmdebstrap minbase from this machine's Debian mirror (~2 min, once)
#   localhost/node:20-bookworm-slim — that base plus this machine's Node.js (≥ 20.19), npm, headers and
#                                     certificate authorities
# The Dockerfile's defaults are the public images of the same names; pass these with
#   --build-arg BASE_IMAGE=localhost/debian:bookworm-slim --build-arg NODE_IMAGE=localhost/node:20-bookworm-slim
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
base=localhost/debian:bookworm-slim
node_image=localhost/node:20-bookworm-slim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! podman image exists "$base"; then
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || { echo "no Debian mirror in /etc/apt/sources*" >&2; exit 1; }
  t=$(date +%s)
  # As the public debian:*-slim images: no documentation, manuals or translations.
  mmdebstrap --variant=minbase --include=ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
    bookworm "$work/rootfs.tar" "$mirror" >&2
  podman import --change 'CMD ["/bin/bash"]' "$work/rootfs.tar" "$base" >/dev/null
  echo "base image $base made in $(( $(date +%s) - t )) s"
fi
if ! podman image exists "$node_image"; then
  node_bin=$(command -v node)
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  [ -f "$npm_dir/package.json" ] || { echo "cannot find npm's folder ($npm_dir)" >&2; exit 1; }
  headers=$(dirname "$(dirname "$(readlink -f "$node_bin")")")/include/node
  [ -f "$headers/node.h" ] || { echo "no Node.js headers in $headers (native addons need them)" >&2; exit 1; }
  mkdir -p "$work/node/bin" "$work/node/lib/node_modules" "$work/node/include"
  cp "$(readlink -f "$node_bin")" "$work/node/bin/node"
  cp -a "$headers" "$work/node/include/node"
  # This machine's trust store: where outbound TLS goes through an intercepting proxy, npm in the build
  # stage needs its certificate authorities as the host's npm does (NODE_EXTRA_CA_CERTS survives apt's
  # regeneration of /etc/ssl/certs).
  cp /etc/ssl/certs/ca-certificates.crt "$work/node/host-ca.pem"
  cp -a "$npm_dir" "$work/node/lib/node_modules/npm"
  cat > "$work/Containerfile" <<CF
FROM $base
COPY node/bin/node /usr/local/bin/node
COPY node/lib/node_modules/npm /usr/local/lib/node_modules/npm
COPY node/include/node /usr/local/include/node
COPY node/host-ca.pem /etc/ssl/host-ca.pem
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.pem
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
CF
  podman build -q -t "$node_image" "$work" >/dev/null
  echo "node image $node_image made ($(podman run --rm "$node_image" node --version))"
fi
