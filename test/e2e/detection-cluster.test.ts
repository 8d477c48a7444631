// Detection in a cluster: one `vodcloud serve --roles api,upload,stream,monitor` process and two
// `--roles worker` processes share one SQLite database, one file store and a ZooKeeper registry. Both workers
// register the `detection` RPC service. While the detection of a video runs (its ffmpeg decode under one
// worker), its ffmpeg and then that worker are SIGKILLed: the detection completes on the other worker (the RPC
// call fails over, or the job's lease expires and the other worker runs it), and the monitor has counted
// the `detection.analyze` calls.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { type ServeHandle, serve, tenantOver } from '../support/cli';
import { engineUrl } from '../support/engines';
import { createUploadVia, tusUpload, waitFor } from '../support/uploads';
import { makeClip } from '../support/videos';

const run = promisify(execFile);
const zk = engineUrl('zookeeper', 'detection: a worker dies mid-detection (ZooKeeper registry)');

async function children(pid: number): Promise<Array<{ pid: number; args: string }>> {
  const { stdout } = await run('ps', ['-o', 'pid=,args=', '--ppid', String(pid)]).catch(() => ({
    stdout: '',
  }));
  return stdout
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), args: m[2]! }));
}

interface DetectionView {
  status: string;
  moderation: { framesAnalyzed: number } | null;
  qc: { sceneChanges: number } | null;
}

describe.skipIf(!zk)('detection: a worker dies mid-detection (api,upload,stream,monitor + 2 workers)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'voddetw-'));
  const nodes: ServeHandle[] = [];
  afterAll(async () => {
    for (const n of nodes) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    // ffmpeg runs lead their own process groups: those of the SIGKILLed nodes outlive them (one stopped for
    // foreground work would stay stopped for good). None may stay behind on the machine.
    try {
      execFileSync('pkill', ['-KILL', '-f', dir]);
    } catch {
      // none left
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGKILL of the worker analysing a video: the other worker completes the detection; the monitor counted the calls', async () => {
    const source = path.join(dir, 'clip.mp4');
    await makeClip(source, { size: '640x360', duration: 60, audio: true });
    const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const adminKey = `detection-workers-admin-${runId}-padding`;
    const env: Record<string, string> = {
      VOD_DATA_DIR: dir,
      VOD_DB_URL: `sqlite:${path.join(dir, 'shared.db')}`,
      VOD_ADMIN_API_KEY: adminKey,
      VOD_SECRET: `detection-workers-secret-${runId}-0123456789abcdef`,
      VOD_LOG_LEVEL: 'warn',
      VOD_PORT: '0',
      VOD_HOST: '127.0.0.1',
      VOD_REGISTRY_URL: `${zk!.replace(/\/$/, '')}/vodcloud-detect-${runId}?sessionTimeoutMs=3000`,
      VOD_QUEUE_LEASE_MS: '4000',
      VOD_RPC_REPORT_MS: '1000',
    };
    const front = await serve(['--roles', 'api,upload,stream,monitor'], env, 60_000);
    nodes.push(front);
    const workers = await Promise.all([
      serve(['--roles', 'worker'], env, 60_000),
      serve(['--roles', 'worker'], env, 60_000),
    ]);
    nodes.push(...workers);

    const admin = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const { auth } = await tenantOver(front.url, adminKey, 'd');
    // Dense sampling: the detection runs long enough to be caught in the act.
    const policy = await fetch(`${front.url}/v1/detection/policy`, {
      method: 'PATCH',
      headers: auth,
      body: JSON.stringify({ moderation: { intervalSec: 1, maxFrames: 120 } }),
    });
    expect(policy.status).toBe(200);
    const created = await createUploadVia(front.url, auth, { title: 'dies mid-detection' });
    await tusUpload(readFileSync(source), { endpoint: created.url, headers: created.headers }).promise;
    const detection = async () =>
      (
        (await (await fetch(`${front.url}/v1/videos/${created.videoId}`, { headers: auth })).json()) as {
          detection: DetectionView | null;
        }
      ).detection;

    // The detection's ffmpeg (its graph runs blackdetect) under one of the workers.
    const found = await waitFor(
      async () => {
        const d = await detection();
        if (d && ['completed', 'failed'].includes(d.status))
          throw new Error(`detection ${d.status} before its ffmpeg was seen running`);
        for (const w of workers) {
          const ff = (await children(w.child.pid!)).find(
            (c) => /ffmpeg/.test(c.args) && /blackdetect/.test(c.args),
          );
          if (ff) return { worker: w, ffmpeg: ff.pid };
        }
        return undefined;
      },
      120_000,
      'a detection ffmpeg running on a worker',
    );
    const survivor = workers.find((w) => w !== found.worker)!;
    const killedAt = performance.now();
    try {
      process.kill(-found.ffmpeg, 'SIGKILL');
    } catch {
      process.kill(found.ffmpeg, 'SIGKILL');
    }
    // The worker outlives its ffmpeg long enough to answer the call (as after the OOM killer): a killed
    // ffmpeg is not the file's fault, so that answer must not fail the detection for good.
    await new Promise((r) => setTimeout(r, 1000));
    found.worker.child.kill('SIGKILL');
    expect(await found.worker.exited).toBeNull();

    const done = await waitFor(
      async () => {
        const d = await detection();
        return d && ['completed', 'failed'].includes(d.status) ? d : undefined;
      },
      300_000,
      'the detection to complete on the surviving worker',
    );
    expect(done.status, JSON.stringify(done)).toBe('completed');
    expect(done.moderation!.framesAnalyzed).toBeGreaterThan(30);
    expect(done.qc).not.toBeNull();
    expect(survivor.child.exitCode).toBeNull();
    console.log(
      `detection completed ${((performance.now() - killedAt) / 1000).toFixed(1)} s after its worker was killed`,
    );

    // The monitor counted the detection service's calls (both sides), reported by the nodes every second.
    const series = await waitFor(
      async () => {
        const res = await fetch(`${front.url}/v1/admin/monitor?service=detection`, { headers: admin });
        const body = (await res.json()) as {
          series: Array<{ service: string; method: string; side: string; calls?: number }>;
          totals: { calls: number };
        };
        const sides = new Set(body.series.filter((x) => x.method === 'analyze').map((x) => x.side));
        return sides.has('consumer') && sides.has('provider') ? body : undefined;
      },
      30_000,
      'detection.analyze counted on both sides by the monitor',
    );
    expect(series.series.every((x) => x.service === 'detection')).toBe(true);
    expect(series.totals.calls).toBeGreaterThanOrEqual(2);
  }, 600_000);
});
