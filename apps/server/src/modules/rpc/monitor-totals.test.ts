import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../../../../test/support/app';
import { mediaService, monitorService } from './contracts';
import { startStatsReporter } from './reporter';
import { Rpc } from './rpc';
import { CallStats } from './stats';

const run = randomBytes(4).toString('hex');

describe('call statistics reach the monitor', async () => {
  const registryUrl = `local://monitor-totals-${run}`;
  const secret = randomBytes(32).toString('hex');
  // One node with every role (it provides media and monitor, and reports its provider-side figures).
  const server = await startTestServer({
    VOD_REGISTRY_URL: registryUrl,
    VOD_SECRET: secret,
    VOD_RPC_REPORT_MS: '300',
  });
  // A consumer elsewhere (its own Rpc, so its calls travel over HTTP) with its own reporter.
  const registry = server.ctx.ports.registry;
  const stats = new CallStats();
  const consumer = new Rpc({ registry, secret, log: pino({ level: 'silent' }), stats });
  const reporter = startStatsReporter({
    rpc: consumer,
    stats,
    report: (r) => consumer.client(monitorService).report(r),
    node: () => `test-consumer-${run}`,
    roles: [],
    intervalMs: 300,
    log: pino({ level: 'silent' }),
  });
  afterAll(async () => {
    await reporter.stop();
    await consumer.close();
    await server.close();
  });

  it('the monitor totals equal the calls made, on both sides', async () => {
    const media = consumer.client(mediaService);
    let ok = 0;
    let failed = 0;
    const t0 = new Date(Date.now() - 60_000).toISOString();
    for (let i = 0; i < 137; i++) {
      await media.capabilities({});
      ok++;
    }
    // Errors are counted too: a probe of a video that does not exist answers not_found.
    for (let i = 0; i < 9; i++)
      await media.probe({ tenantId: 'nobody', videoId: `missing-${i}` }).then(
        () => undefined,
        () => failed++,
      );
    expect(failed).toBe(9);
    const admin = { authorization: `Bearer ${server.adminKey}` };
    const read = async (method: string, side: string) => {
      const res = await server.app.inject({
        method: 'GET',
        url: `/v1/admin/monitor?service=media&method=${method}&side=${side}&from=${encodeURIComponent(t0)}`,
        headers: admin,
      });
      expect(res.statusCode).toBe(200);
      return res.json() as { totals: { calls: number; errors: number; maxMs: number; p95Ms: number } };
    };
    const until = Date.now() + 15_000;
    let consumerSide = await read('capabilities', 'consumer');
    let providerSide = await read('capabilities', 'provider');
    while ((consumerSide.totals.calls < ok || providerSide.totals.calls < ok) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      consumerSide = await read('capabilities', 'consumer');
      providerSide = await read('capabilities', 'provider');
    }
    // Give a late duplicate a chance to show up before checking for exact equality.
    await new Promise((r) => setTimeout(r, 800));
    consumerSide = await read('capabilities', 'consumer');
    providerSide = await read('capabilities', 'provider');
    expect(consumerSide.totals.calls).toBe(ok);
    expect(consumerSide.totals.errors).toBe(0);
    expect(providerSide.totals.calls).toBe(ok);
    expect(consumerSide.totals.maxMs).toBeGreaterThan(0);
    const probes = await read('probe', 'consumer');
    expect(probes.totals).toMatchObject({ calls: 9, errors: 9 });
    const probesServed = await read('probe', 'provider');
    expect(probesServed.totals).toMatchObject({ calls: 9, errors: 9 });
  }, 60_000);
});
