#!/bin/bash
# vod-zookeeper serve|health — one ZooKeeper server on :2181 (health: the 'ruok' four-letter command).
set -euo pipefail
if [ "${1:-serve}" = health ]; then
  exec 3<>/dev/tcp/127.0.0.1/2181
  printf ruok >&3
  [ "$(timeout 2 cat <&3)" = imok ]
  exit
fi
classpath=/etc/zookeeper:/usr/share/java/zookeeper.jar
for jar in zookeeper-jute slf4j-api slf4j-log4j12 log4j-1.2 netty-handler netty-common netty-buffer \
  netty-transport netty-codec netty-resolver netty-transport-native-epoll netty-transport-native-unix-common \
  metrics-core snappy-java commons-cli commons-io; do
  [ -f "/usr/share/java/$jar.jar" ] && classpath="$classpath:/usr/share/java/$jar.jar"
done
exec java -Xmx${ZK_HEAP:-256m} -XX:-UsePerfData -Dzookeeper.log.dir=/var/lib/zookeeper \
  -cp "$classpath" org.apache.zookeeper.server.quorum.QuorumPeerMain /etc/zookeeper/zoo.cfg
