import { Redis } from 'ioredis';

/**
 * Real-engine test suites read their engine's address from the environment.
 * Without it a suite skips, printing one line that names what is missing;
 * with VOD_TEST_REQUIRE_ENGINES=1 (set by .ci/run) a missing engine fails the run instead.
 */
export const ENGINES = {
  mysql: { env: 'VOD_TEST_MYSQL_URL', what: 'MariaDB/MySQL, e.g. mysql://root@127.0.0.1:3306' },
  postgres: { env: 'VOD_TEST_PG_URL', what: 'PostgreSQL, e.g. postgres://postgres@127.0.0.1:5432/postgres' },
  redis: { env: 'VOD_TEST_REDIS_URL', what: 'Redis, e.g. redis://127.0.0.1:6379' },
  s3: {
    env: 'VOD_TEST_S3_ENDPOINT',
    what: 'an S3-compatible store (scripts/s3-up.sh), e.g. http://127.0.0.1:7480',
  },
  zookeeper: {
    env: 'VOD_TEST_ZK_URL',
    what: 'ZooKeeper (scripts/zk-up.sh), e.g. zookeeper://127.0.0.1:2181',
  },
} as const;

export type EngineName = keyof typeof ENGINES;

/** Returns the engine's URL, or undefined after printing why the suite skips. */
export function engineUrl(engine: EngineName, suite: string): string | undefined {
  const { env, what } = ENGINES[engine];
  const value = process.env[env];
  if (value) return value;
  if (process.env.VOD_TEST_REQUIRE_ENGINES === '1') {
    throw new Error(`${suite}: ${env} is not set but VOD_TEST_REQUIRE_ENGINES=1 (${what})`);
  }
  console.log(`SKIP ${suite}: set ${env} to run it against ${what}`);
  return undefined;
}

/**
 * Deletes every key matching `pattern` (SCAN + DEL: never FLUSHDB, the server is shared). With `redis`, on
 * that connection (left open); else on one of its own to `url`.
 */
export async function deleteRedisKeys(pattern: string, conn: { url: string } | { redis: Redis }) {
  const redis = 'redis' in conn ? conn.redis : new Redis(conn.url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    if (!('redis' in conn)) await redis.quit();
  }
}
