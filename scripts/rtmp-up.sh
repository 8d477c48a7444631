#!/usr/bin/env bash
# Starts nginx with the RTMP module (Debian's libnginx-mod-rtmp) for development, without systemd:
#   RTMP on 127.0.0.1:${RTMP_PORT:-1935}, application 'live': publish to rtmp://127.0.0.1:1935/live/<key>
#   HTTP on 127.0.0.1:${RTMP_HTTP_PORT:-8088}: /hls/<key>.m3u8 (live HLS) and /stat (the module's XML stats)
#   every publish is recorded to FLV in ${RTMP_REC_DIR:-$VOD_SERVICES_DIR/rtmp/rec}
#   hooks: on_publish, on_publish_done and on_record_done POST to the hook URL, the first argument or
#   $RTMP_HOOK_URL (required: the server's endpoint that receives the recordings)
# Usage: scripts/rtmp-up.sh http://127.0.0.1:8080/<hook path>?token=<secret>
#   RTMP_RECORD_INTERVAL  split recordings (e.g. 10m); default: one file per publish
#   RTMP_KEEP_DATA=1      keep earlier recordings and segments
# Files live in ${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/rtmp. Needs nginx (nginx-light) and libnginx-mod-rtmp
# (scripts/install-system-deps.sh installs both). Stop it with scripts/rtmp-down.sh.
set -euo pipefail

port="${RTMP_PORT:-1935}"
http_port="${RTMP_HTTP_PORT:-8088}"
hook="${1:-${RTMP_HOOK_URL:-}}"
base="${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/rtmp"
rec="${RTMP_REC_DIR:-$base/rec}"
module=/usr/lib/nginx/modules/ngx_rtmp_module.so
pidfile="$base/nginx.pid"

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "nginx-rtmp already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
  exit 0
fi
[ -n "$hook" ] || { echo "usage: rtmp-up.sh <hook URL> (or set RTMP_HOOK_URL)" >&2; exit 2; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "rtmp-up: nginx not found (install the Debian 'nginx-light' package)" >&2; exit 1; }
[ -f "$module" ] || { echo "rtmp-up: $module not found (install the Debian 'libnginx-mod-rtmp' package)" >&2; exit 1; }

if [ "${RTMP_KEEP_DATA:-0}" != 1 ]; then rm -rf "$rec" "$base/hls"; fi
rm -rf "$base/tmp"
mkdir -p "$rec" "$base/hls" "$base/logs" "$base/tmp"
# nginx's workers run as 'nobody' when the master is root: they write the recordings, segments and temp files
chmod 0777 "$rec" "$base/hls" "$base/tmp"
interval=""
[ -n "${RTMP_RECORD_INTERVAL:-}" ] && interval="record_interval $RTMP_RECORD_INTERVAL;"

# One hook URL for all three events: nginx-rtmp names the event in the form body (call=publish,
# call=publish_done, call=record_done) and keeps the URL's query string, so a single endpoint (with a token in
# its query) serves them all. Its answer to call=publish gates the publish: anything but 2xx drops the publisher.
cat >"$base/nginx.conf" <<CFG
load_module $module;
daemon off;
worker_processes 1;
pid $pidfile;
error_log $base/logs/error.log info;
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:$port;
    chunk_size 4096;
    application live {
      live on;
      record all;
      record_path $rec;
      record_unique on;
      $interval
      on_publish $hook;
      on_publish_done $hook;
      on_record_done $hook;
      hls on;
      hls_path $base/hls;
      hls_fragment 2s;
      hls_playlist_length 20s;
      hls_cleanup off;
    }
  }
}
http {
  access_log $base/logs/access.log;
  client_body_temp_path $base/tmp/body; proxy_temp_path $base/tmp/proxy; fastcgi_temp_path $base/tmp/fcgi;
  uwsgi_temp_path $base/tmp/uwsgi; scgi_temp_path $base/tmp/scgi;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  server {
    listen 127.0.0.1:$http_port;
    location /hls/ { root $base; add_header Cache-Control no-cache; add_header Access-Control-Allow-Origin *; }
    location /stat { rtmp_stat all; }
  }
}
CFG

"$nginx" -t -q -p "$base/" -c "$base/nginx.conf" -e "$base/logs/error.log"
started=$(date +%s%N)
# setsid: its own session and process group, so it outlives the shell (or CI step) that started it
setsid nohup "$nginx" -p "$base/" -c "$base/nginx.conf" -e "$base/logs/error.log" \
  >"$base/logs/nginx.out" 2>&1 </dev/null &
master=$!

for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "nginx-rtmp ready after $(( ($(date +%s%N) - started) / 1000000 )) ms (pid $master):" \
      "publish to rtmp://127.0.0.1:$port/live/<key>, HLS at http://127.0.0.1:$http_port/hls/<key>.m3u8," \
      "recordings in $rec, hooks to $hook"
    exit 0
  fi
  if ! kill -0 "$master" 2>/dev/null; then
    echo "rtmp-up: nginx exited during start; last log lines:" >&2
    tail -n 30 "$base/logs/error.log" "$base/logs/nginx.out" >&2
    exit 1
  fi
  sleep 0.1
done
echo "rtmp-up: nginx-rtmp not answering on $port after 10 s; last log lines:" >&2
tail -n 30 "$base/logs/error.log" >&2
exit 1
