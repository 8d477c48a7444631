# Sourced by the container scripts: podman settings that work on hosts without CAP_SYS_RESOURCE and with
# hybrid cgroups (runc, cgroupfs, ulimits at the host's hard limit), in $VOD_CONTAINERS_CONF.
# shellcheck shell=bash
VOD_CONTAINERS_CONF=${VOD_CONTAINERS_CONF:-/tmp/vodcloud-containers.conf}
if [ ! -s "$VOD_CONTAINERS_CONF" ]; then
  hard=$(ulimit -Hn)
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
    "$hard" "$hard" > "$VOD_CONTAINERS_CONF"
fi
export CONTAINERS_CONF=$VOD_CONTAINERS_CONF
# The Debian mirror this machine's apt uses (read from its sources, never written down here).
debian_mirror() {
  local m
  m=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
  [ -n "$m" ] || m=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1)
  echo "$m"
}
