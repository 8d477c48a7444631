// `npm run bench -- rpc`: RPC between two processes (this one as the consumer, a `vodcloud serve --roles
// worker` process as the provider, found through ZooKeeper): calls per second and p99 latency of a small
// call (media.capabilities) with the call accounting on and off, next to a raw keep-alive HTTP request to
// the same process (the floor); then the time from a provider's SIGKILL to its removal from the consumer's
// list. Rounds alternate; medians are reported.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { mediaService } from '../apps/server/src/modules/rpc/contracts';
import { Rpc } from '../apps/server/src/modules/rpc/rpc';
import { CallStats } from '../apps/server/src/modules/rpc/stats';
import { createRegistry, type Registry } from '../apps/server/src/ports/registry';
import { sleep } from './lib/proc';
import { printTable, writeResults } from './lib/report';
import { median } from './lib/stats';
import { startVodcloud, type VodcloudProcess } from './lib/vodcloud';

interface Round {
  variant: string;
  calls: number;
  errors: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
}

const pct = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;

async function closedLoop(
  variant: string,
  seconds: number,
  concurrency: number,
  call: () => Promise<unknown>,
): Promise<Round> {
  const lat: number[] = [];
  let errors = 0;
  let firstError: unknown;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        await call();
        lat.push(performance.now() - t);
      } catch (err) {
        errors++;
        firstError ??= err;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - t0;
  if (errors)
    console.log(`${variant}: ${errors} calls failed, the first with: ${(firstError as Error)?.message}`);
  lat.sort((a, b) => a - b);
  return {
    variant,
    calls: lat.length,
    errors,
    perSec: (lat.length / ms) * 1000,
    p50Ms: pct(lat, 0.5),
    p99Ms: pct(lat, 0.99),
  };
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '16' },
      zk: { type: 'string', default: process.env.VOD_TEST_ZK_URL ?? 'zookeeper://127.0.0.1:2181' },
      'session-ms': { type: 'string', default: '10000' },
      kills: { type: 'string', default: '3' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'npm run bench -- rpc [--seconds 5] [--rounds 3] [--concurrency 16] [--zk zookeeper://127.0.0.1:2181] [--session-ms 10000] [--kills 3]',
    );
    return;
  }
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const concurrency = Number(values.concurrency);
  const sessionMs = Number(values['session-ms']);
  const run = randomBytes(4).toString('hex');
  const secret = randomBytes(32).toString('hex');
  const zk = values.zk!.replace(/\/$/, '');
  const urlFor = (name: string) => `${zk}/vodcloud-bench-rpc-${run}-${name}?sessionTimeoutMs=${sessionMs}`;
  const log = pino({ level: 'silent' });
  const dirs: string[] = [];
  const procs: VodcloudProcess[] = [];
  const registries: Registry[] = [];
  const rpcs: Rpc[] = [];
  const provider = async (name: string, env: Record<string, string>) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `vod-bench-rpc-${name}-`));
    dirs.push(dir);
    const p = await startVodcloud({
      dataDir: dir,
      env: { VOD_ROLES: 'worker', VOD_REGISTRY_URL: urlFor(name), VOD_SECRET: secret, ...env },
    });
    procs.push(p);
    return p;
  };
  const consumer = async (name: string, stats: boolean) => {
    const registry = await createRegistry(urlFor(name));
    registries.push(registry);
    const rpc = new Rpc({ registry, secret, log, stats: stats ? new CallStats() : null });
    rpcs.push(rpc);
    const media = rpc.client(mediaService);
    const until = Date.now() + 30_000;
    while (rpc.instances('media').length < 1 && Date.now() < until) {
      await media.capabilities({}).catch(() => undefined);
      await sleep(100);
    }
    if (!rpc.instances('media').length) throw new Error(`no provider registered under ${name}`);
    return { rpc, media };
  };
  try {
    console.log(`starting two provider processes (worker role) on ZooKeeper ${zk} …`);
    const withStats = await provider('on', {});
    const withoutStats = await provider('off', { VOD_RPC_STATS: 'off' });
    const on = await consumer('on', true);
    const off = await consumer('off', false);
    const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
    const raw = () => request(`${withoutStats.url}/livez`, { dispatcher: agent }).then((r) => r.body.dump());
    // warm-up
    await closedLoop('warm', 1, concurrency, () => on.media.capabilities({}));
    await closedLoop('warm', 1, concurrency, () => off.media.capabilities({}));
    await closedLoop('warm', 1, concurrency, raw);
    const results: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      results.push(
        await closedLoop('rpc, accounting on', seconds, concurrency, () => on.media.capabilities({})),
      );
      results.push(
        await closedLoop('rpc, accounting off', seconds, concurrency, () => off.media.capabilities({})),
      );
      results.push(await closedLoop('raw HTTP GET /livez', seconds, concurrency, raw));
      console.log(
        `round ${r + 1}/${rounds}: ${results
          .slice(-3)
          .map((x) => `${x.variant} ${x.perSec.toFixed(0)}/s p99 ${x.p99Ms.toFixed(2)} ms`)
          .join(' | ')}`,
      );
    }
    await agent.close();
    const variants = [...new Set(results.map((x) => x.variant))];
    const med = Object.fromEntries(
      variants.map((v) => {
        const rs = results.filter((x) => x.variant === v);
        return [
          v,
          {
            perSec: median(rs.map((x) => x.perSec)),
            p50Ms: median(rs.map((x) => x.p50Ms)),
            p99Ms: median(rs.map((x) => x.p99Ms)),
            errors: rs.reduce((a, x) => a + x.errors, 0),
          },
        ];
      }),
    ) as Record<string, { perSec: number; p50Ms: number; p99Ms: number; errors: number }>;

    // Death → removal from the consumer's list.
    const removal: number[] = [];
    for (let k = 0; k < Number(values.kills); k++) {
      const victim = await provider('on', {});
      const until = Date.now() + 30_000;
      while (on.rpc.instances('media').length < 2 && Date.now() < until) await sleep(20);
      const t0 = Date.now();
      victim.child.kill('SIGKILL');
      while (on.rpc.instances('media').length > 1 && Date.now() - t0 < sessionMs * 3) await sleep(10);
      removal.push(Date.now() - t0);
      console.log(`provider SIGKILLed → gone from the consumer's list after ${removal.at(-1)} ms`);
    }

    console.log('');
    console.log(
      `RPC between two processes, media.capabilities, ${concurrency} calls in flight, ${rounds} × ${seconds} s rounds (medians)`,
    );
    printTable(
      ['variant', 'calls/s', 'p50 ms', 'p99 ms', 'errors'],
      variants.map((v) => [
        v,
        med[v]!.perSec.toFixed(0),
        med[v]!.p50Ms.toFixed(2),
        med[v]!.p99Ms.toFixed(2),
        String(med[v]!.errors),
      ]),
    );
    const a = med['rpc, accounting on']!;
    const b = med['rpc, accounting off']!;
    const overhead = 1 - a.perSec / b.perSec;
    console.log(
      `accounting overhead: ${(overhead * 100).toFixed(1)} % of throughput (goal ≤ 5 %) ${overhead <= 0.05 ? 'PASS' : 'MISS'}; p99 ${a.p99Ms.toFixed(2)} vs ${b.p99Ms.toFixed(2)} ms`,
    );
    console.log(
      `rpc vs raw HTTP: ${(b.perSec / med['raw HTTP GET /livez']!.perSec).toFixed(2)}× the calls/s of a bare keep-alive GET`,
    );
    console.log(
      `provider death → removal (ZooKeeper session ${sessionMs} ms): median ${median(removal)} ms (${removal.join(', ')})`,
    );
    const file = await writeResults('rpc', {
      concurrency,
      seconds,
      rounds,
      sessionMs,
      results,
      medians: med,
      overhead,
      removalMs: removal,
    });
    console.log(`results: ${file}`);
  } finally {
    for (const r of rpcs) await r.close();
    for (const r of registries) await r.close().catch(() => undefined);
    for (const p of procs) await p.stop().catch(() => undefined);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}
