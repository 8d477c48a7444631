#!/usr/bin/env bash
# Starts a single-node ZooKeeper for development and tests, without systemd.
#   listens on 127.0.0.1:${ZK_PORT:-2181}; files live in ${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/zk
#   ZK_KEEP_DATA=1  keep the existing data directory (sessions and znodes survive a restart)
#   ZK_TICK_MS      tickTime (default 1000, so sessions of 2-20 s can be negotiated)
# Needs a JRE and the Debian 'zookeeper' package (/usr/share/java/zookeeper.jar).
set -euo pipefail

port="${ZK_PORT:-2181}"
base="${VOD_SERVICES_DIR:-/tmp/vodcloud-services}/zk"
tick="${ZK_TICK_MS:-1000}"
jar=/usr/share/java/zookeeper.jar
pidfile="$base/zk.pid"

zk_answers() {
  # 'ruok' four-letter command; a healthy server replies 'imok'
  local reply
  reply=$( { exec 3<>"/dev/tcp/127.0.0.1/$port" && printf ruok >&3 && timeout 1 cat <&3; } 2>/dev/null ) || true
  [ "$reply" = imok ]
}

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "zookeeper already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
  exit 0
fi
if zk_answers; then
  echo "zookeeper already running on 127.0.0.1:$port (not started by this script)"
  exit 0
fi

command -v java >/dev/null || { echo "zk-up: java not found (install the Debian 'zookeeper' package)" >&2; exit 1; }
[ -f "$jar" ] || { echo "zk-up: $jar not found (install the Debian 'zookeeper' package)" >&2; exit 1; }

if [ "${ZK_KEEP_DATA:-0}" != 1 ]; then rm -rf "$base/data"; fi
mkdir -p "$base/conf" "$base/data" "$base/log"

cat >"$base/conf/zoo.cfg" <<CFG
tickTime=$tick
dataDir=$base/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr,cons
CFG
cat >"$base/conf/log4j.properties" <<'LOG'
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1}: %m%n
LOG

classpath="$base/conf:$jar"
for extra in zookeeper-jute slf4j-api slf4j-log4j12 log4j-1.2 netty-handler netty-common netty-buffer \
  netty-transport netty-codec netty-resolver netty-transport-native-epoll netty-transport-native-unix-common \
  metrics-core snappy-java commons-cli; do
  [ -f "/usr/share/java/$extra.jar" ] && classpath="$classpath:/usr/share/java/$extra.jar"
done

started=$(date +%s%N)
# setsid: its own session and process group, so it outlives the shell (or CI step) that started it
setsid nohup java -Xmx256m -XX:-UsePerfData -Dzookeeper.log.dir="$base/log" \
  -cp "$classpath" org.apache.zookeeper.server.quorum.QuorumPeerMain "$base/conf/zoo.cfg" \
  >"$base/log/zk.out" 2>&1 </dev/null &
echo $! >"$pidfile"

for _ in $(seq 1 300); do
  if zk_answers; then
    echo "zookeeper ready on 127.0.0.1:$port (pid $(cat "$pidfile")) after $(( ($(date +%s%N) - started) / 1000000 )) ms"
    exit 0
  fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "zk-up: zookeeper exited during start; last log lines:" >&2
    tail -n 30 "$base/log/zk.out" >&2
    rm -f "$pidfile"
    exit 1
  fi
  sleep 0.1
done
echo "zk-up: zookeeper not answering after 30 s; last log lines:" >&2
tail -n 30 "$base/log/zk.out" >&2
exit 1
