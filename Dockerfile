# syntax=docker/dockerfile:1
# vodcloud: one image for every role (VOD_ROLES=api|upload|stream|worker|monitor|all).
#   docker build -t vodcloud .            (public base images)
#   scripts/container/build-image.sh      (machines without registry access: local Debian and Node images)
# NODE_IMAGE provides Node.js ≥ 20.19 (binary, npm, headers); BASE_IMAGE is the Debian bookworm runtime.
ARG BASE_IMAGE=debian:bookworm-slim
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Build: all dependencies (native addons compiled here), the production bundle, then only
#    production dependencies kept — less those of the publishable packages that the server never imports
#    (hls.js is inside dist/player.js; jose and openapi-fetch belong to @vodcloud/sdk). The web console is
#    built into dist/console/ (static files); its libraries are development dependencies, pruned here.
#    TensorFlow.js keeps only what Node loads (dist/*.node.js and the wasm binaries) and nsfwjs only the
#    MobileNetV2 weights: ~350 MB → ~15 MB; the moderation model is then loaded once as the check.
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV npm_config_nodedir=/usr/local npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
COPY apps/server/package.json apps/server/
COPY packages/contracts/package.json packages/contracts/
COPY packages/media/package.json packages/media/
COPY packages/player/package.json packages/player/
COPY packages/sdk/package.json packages/sdk/
COPY packages/storage/package.json packages/storage/
COPY packages/upload/package.json packages/upload/
COPY apps/console/package.json apps/console/
RUN npm ci
COPY tsconfig.json ./
COPY scripts/build.ts scripts/
COPY apps/server/src apps/server/src
COPY apps/console apps/console
COPY packages packages
RUN npm run build \
 && npm prune --omit=dev \
 && rm -rf node_modules/@vodcloud node_modules/.package-lock.json \
 && rm -rf node_modules/hls.js node_modules/jose node_modules/openapi-fetch node_modules/openapi-typescript-helpers \
 && for p in node_modules/@tensorflow/*; do find "$p/dist" -mindepth 1 -maxdepth 1 ! -name '*.node.js' ! -name '*.wasm' -exec rm -rf {} +; done \
 && find node_modules/@tensorflow node_modules/nsfwjs -name '*.map' -delete \
 && rm -rf node_modules/nsfwjs/dist/models/inception_v3 node_modules/nsfwjs/dist/models/mobilenet_v2_mid node_modules/nsfwjs/dist/browser \
 && node --input-type=module -e "import { Worker } from 'node:worker_threads'; const w = new Worker('./dist/model-worker.mjs', { workerData: {}, execArgv: [] }); w.on('message', (m) => { if (m.ready) process.exit(0); }); w.on('error', (e) => { console.error(e); process.exit(1); });" \
 && cd node_modules/better-sqlite3 \
 && find build -mindepth 1 -maxdepth 2 ! -path build/Release ! -path build/Release/better_sqlite3.node -exec rm -rf {} + \
 && rm -rf deps src

# 2. Runtime: Debian's ffmpeg, Node.js, the bundle and production node_modules; no compiler, no npm.
FROM ${NODE_IMAGE} AS node
FROM ${BASE_IMAGE}
# Documentation, manuals and translations are not installed; Mesa's GPU drivers (and the LLVM and Z3 they
# load) are removed: ffmpeg's libraries link libGL/libvulkan, but nothing here renders on a GPU, and the
# drivers are only ever dlopen()ed by those loaders.
RUN printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' \
      'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*' 'path-exclude=/usr/share/locale/*' \
      > /etc/dpkg/dpkg.cfg.d/vodcloud-slim \
 && apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && rm -rf /usr/lib/*-linux-gnu/dri /usr/lib/*-linux-gnu/libLLVM-*.so* /usr/lib/*-linux-gnu/libz3.so* \
      /usr/lib/*-linux-gnu/libvulkan_*.so /usr/share/vulkan/icd.d \
 && ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=d=1:s=320x240 -c:v libx264 -f null - \
 && groupadd --system --gid 10001 vodcloud \
 && useradd --system --uid 10001 --gid vodcloud --home-dir /var/lib/vodcloud --shell /usr/sbin/nologin vodcloud \
 && mkdir -p /var/lib/vodcloud && chown vodcloud:vodcloud /var/lib/vodcloud
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY README.md ./
ENV NODE_ENV=production \
    VOD_HOST=0.0.0.0 \
    VOD_PORT=8080 \
    VOD_DATA_DIR=/var/lib/vodcloud
USER 10001:10001
VOLUME ["/var/lib/vodcloud"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.VOD_PORT||8080)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# tini as PID 1: forwards SIGTERM to node (which drains and exits within VOD_SHUTDOWN_TIMEOUT_MS) and
# reaps ffmpeg's orphans.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/vodcloud.js"]
CMD ["serve"]
