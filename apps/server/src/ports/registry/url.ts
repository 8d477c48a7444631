/** Parses `zookeeper://host:port[,host:port]/chroot[?sessionTimeoutMs=N]` (kept apart so it loads no client). */
export function parseZooKeeperUrl(url: string): { servers: string; chroot: string; params: URLSearchParams } {
  const m = /^zookeeper:\/\/([^/?]+)(\/[^?]*)?(?:\?(.*))?$/.exec(url);
  if (!m)
    throw new Error(`registry: invalid ZooKeeper URL "${url}" (zookeeper://host:port[,host:port]/chroot)`);
  const chroot = (m[2] ?? '').replace(/\/+$/, '');
  return { servers: m[1]!, chroot, params: new URLSearchParams(m[3] ?? '') };
}
