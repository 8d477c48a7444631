/**
 * The names of the RPC load-balancing strategies and cluster modes, and the VOD_RPC_STRATEGIES setting
 * that overrides them per service. Kept here, below both, so the configuration never imports the rpc
 * feature (modules/rpc/balance.ts implements the strategies).
 */
export const STRATEGIES = ['random', 'round_robin', 'least_active', 'consistent_hash'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** failover: an idempotent call that fails is retried on another instance; failfast: never retried. */
export const CLUSTER_MODES = ['failover', 'failfast'] as const;
export type ClusterMode = (typeof CLUSTER_MODES)[number];

const ENTRY = `[a-z][a-z0-9-]*=(${STRATEGIES.join('|')})(:(${CLUSTER_MODES.join('|')}))?`;

/** What VOD_RPC_STRATEGIES looks like: `media=least_active,monitor=round_robin:failfast`. */
export const STRATEGIES_SETTING = new RegExp(`^(${ENTRY})(,${ENTRY})*$`);

/** Parses a VOD_RPC_STRATEGIES value (already checked against STRATEGIES_SETTING). */
export function parseStrategies(value: string | undefined): {
  strategies: Record<string, Strategy>;
  modes: Record<string, ClusterMode>;
} {
  const strategies: Record<string, Strategy> = {};
  const modes: Record<string, ClusterMode> = {};
  for (const part of value ? value.split(',') : []) {
    const [service, rest] = part.split('=') as [string, string];
    const [strategy, mode] = rest.split(':') as [Strategy, ClusterMode | undefined];
    strategies[service] = strategy;
    if (mode) modes[service] = mode;
  }
  return { strategies, modes };
}
