/**
 * The cluster module's public surface: this node in the registry (node.ts) and the sentinels' health view
 * of every instance (health.ts), which the load balancers (rpc, playback LBS, upload redirects) and the
 * monitor read.
 */
export {
  clusterHealth,
  type HealthStatus,
  type InstanceHealth,
  instancesOf,
  SENTINEL_SERVICE,
  type SentinelView,
  unhealthyInstances,
} from './health';
export {
  CLOCK_REPORT_MS,
  healthyInstances,
  LOAD_TIE,
  leastLoaded,
  type NodeInfo,
  playbackBase,
  registerNode,
  serviceOf,
  weightedPick,
} from './node';
