// Live recordings in a cluster: one `vodcloud serve --roles api,upload,stream,monitor` process and two
// `--roles worker` processes share one SQLite database, one file store, the recording directory and a
// ZooKeeper registry. Both workers provide the `recording` RPC service. A recorder's callback reaches the API
// node; the part is stored by a worker through `recording.ingest`; the monitor counts those calls. Then one
// worker is SIGKILLed while still in the registry: recordings of several streams (hashed over both workers)
// are all imported, the calls meant for the dead one failed over to the other.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ServeHandle, serve, tenantOver } from '../support/cli';
import { engineUrl } from '../support/engines';
import { waitFor } from '../support/uploads';
import { makeClip } from '../support/videos';

const zk = engineUrl('zookeeper', 'live recordings in a cluster (ZooKeeper registry)');

interface RecordingJson {
  status: string;
  videoId: string;
  parts: number;
  error: unknown;
}

describe.skipIf(!zk)(
  'live recordings: the recording provider on workers (api,upload,stream,monitor + 2 workers)',
  () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vodreccl-'));
    const nodes: ServeHandle[] = [];
    afterAll(async () => {
      for (const n of nodes) n.child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
      rmSync(dir, { recursive: true, force: true });
    });

    it('workers store the parts (counted by the monitor) and a dead worker’s calls fail over', async () => {
      const rec = path.join(dir, 'rec');
      mkdirSync(rec);
      chmodSync(dir, 0o755);
      const files = await Promise.all(
        ['a', 'b', 'c', 'd', 'e'].map((n) =>
          makeClip(path.join(rec, `${n}.flv`), { duration: 3, audio: true }).then(() =>
            path.join(rec, `${n}.flv`),
          ),
        ),
      );
      const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
      const adminKey = `recording-cluster-admin-${runId}-padding`;
      const env: Record<string, string> = {
        VOD_DATA_DIR: path.join(dir, 'data'),
        VOD_DB_URL: `sqlite:${path.join(dir, 'shared.db')}`,
        VOD_ADMIN_API_KEY: adminKey,
        VOD_SECRET: `recording-cluster-secret-${runId}-0123456789abcdef`,
        VOD_LOG_LEVEL: 'warn',
        VOD_PORT: '0',
        VOD_HOST: '127.0.0.1',
        VOD_REGISTRY_URL: `${zk!.replace(/\/$/, '')}/vodcloud-rec-${runId}?sessionTimeoutMs=3000`,
        VOD_QUEUE_LEASE_MS: '4000',
        VOD_RPC_REPORT_MS: '1000',
        VOD_RECORDING_DIRS: rec,
        VOD_DETECTION: 'off',
      };
      const front = await serve(['--roles', 'api,upload,stream,monitor'], env, 60_000);
      nodes.push(front);
      const workers = await Promise.all([
        serve(['--roles', 'worker'], env, 60_000),
        serve(['--roles', 'worker'], env, 60_000),
      ]);
      nodes.push(...workers);
      const admin = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
      const { auth } = await tenantOver(front.url, adminKey, 'r');
      const hook = (await (
        await fetch(`${front.url}/v1/recording-hooks`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ name: 'cluster', reconnectWindowSec: 1 }),
        })
      ).json()) as { nginxRtmpUrl: string };
      const recorded = async (name: string, file: string) => {
        const res = await fetch(hook.nginxRtmpUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            call: 'record_done',
            app: 'live',
            name,
            clientid: '1',
            path: file,
          }).toString(),
        });
        expect(res.status).toBe(200);
      };
      const imported = (name: string) =>
        waitFor(
          async () => {
            const r = (await (
              await fetch(`${front.url}/v1/recordings?streamName=${name}`, { headers: auth })
            ).json()) as { data: RecordingJson[] };
            const x = r.data[0];
            return x && ['imported', 'failed'].includes(x.status) ? x : undefined;
          },
          120_000,
          `recording ${name}`,
        );

      await recorded('first', files[0]!);
      const first = await imported('first');
      expect(first.status, JSON.stringify(first.error)).toBe('imported');
      // The monitor counted recording.ingest on both sides (reported by the nodes every second).
      const series = await waitFor(
        async () => {
          const res = await fetch(`${front.url}/v1/admin/monitor?service=recording`, { headers: admin });
          const body = (await res.json()) as { series: Array<{ method: string; side: string }> };
          const sides = new Set(body.series.filter((x) => x.method === 'ingest').map((x) => x.side));
          return sides.has('consumer') && sides.has('provider') ? body : undefined;
        },
        30_000,
        'recording.ingest counted on both sides',
      );
      expect(series.series.length).toBeGreaterThan(0);

      // One worker dies (still registered for ~3 s): four streams hashed over both workers all import.
      workers[0]!.child.kill('SIGKILL');
      expect(await workers[0]!.exited).toBeNull();
      await Promise.all(['s1', 's2', 's3', 's4'].map((n, i) => recorded(n, files[i + 1]!)));
      for (const n of ['s1', 's2', 's3', 's4']) {
        const r = await imported(n);
        expect(r.status, `${n}: ${JSON.stringify(r.error)}`).toBe('imported');
        expect(r.parts).toBe(1);
      }
      expect(workers[1]!.child.exitCode).toBeNull();
    }, 300_000);
  },
);
