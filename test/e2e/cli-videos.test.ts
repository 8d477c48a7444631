// The CLI for daily work (`vodcloud videos …`, `status`, `doctor`) as a separate process against a real
// listening server with real videos: exit codes, --json documents, the table and progress on a terminal
// (a pseudo-terminal made by `script`).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Jobs } from '../../apps/server/src/jobs';
import { startTestServer, type TestServer } from '../support/app';
import { BIN, runCli } from '../support/cli';
import { deleteRedisKeys, engineUrl } from '../support/engines';
import { createUploadVia, tusUpload } from '../support/uploads';
import { makeClip } from '../support/videos';

let server: TestServer;
let tenant: { id: string; key: string; auth: { authorization: string } };
let clip: string;
const dir = mkdtempSync(path.join(tmpdir(), 'vodclivid-'));

beforeAll(async () => {
  server = await startTestServer();
  tenant = await server.tenant('cli-videos');
  clip = await makeClip(path.join(dir, 'clip.mp4'), { duration: 4, audio: true });
}, 60_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** vodcloud with the API address and a key in the environment, as an operator would set them. */
const cli = (args: string[], key = tenant.key, timeoutMs = 60_000) =>
  runCli(args, { VODCLOUD_API: server.url, VODCLOUD_API_KEY: key }, timeoutMs);

interface Running {
  /** stdout and stderr so far (interleaved on a terminal, where both are the terminal). */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves once the output matches `re`. */
  seen(re: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<number | null>;
}

/** Starts `vodcloud ARGS`; on a pseudo-terminal (util-linux `script`) with `tty`: what a person sees there. */
function start(
  args: string[],
  env: Record<string, string>,
  o: { tty?: boolean; input?: string; timeoutMs?: number } = {},
): Running {
  const argv = [process.execPath, BIN, ...args];
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = o.tty
    ? spawn('script', ['-qfec', quoted, '/dev/null'], {
        env: { ...process.env, ...env, TERM: 'xterm' },
        stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      })
    : spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Typed ahead: the terminal keeps it until the program reads it.
  if (o.input !== undefined) child.stdin!.end(o.input);
  let out = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    out += d;
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 90_000);
  const done = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return {
    output: () => out,
    stdout: () => stdout,
    stderr: () => stderr,
    async seen(re, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (Date.now() > until) throw new Error(`${args.join(' ')}: no ${re} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    done,
  };
}

/** Runs `vodcloud ARGS` on a pseudo-terminal to the end. */
async function onTerminal(args: string[], env: Record<string, string>, timeoutMs = 90_000, input?: string) {
  const r = start(args, env, { tty: true, input, timeoutMs });
  const code = await r.done;
  return { code, output: r.output() };
}

/** Starts an upload of `bytes` and returns the video id once the bytes are in (processing starts). */
async function upload(bytes: Buffer, title: string): Promise<string> {
  const created = await createUploadVia(server.url, tenant.auth, { title });
  await tusUpload(bytes, { endpoint: created.url, headers: created.headers }).promise;
  return created.videoId;
}

/** Creates an upload (the video waits for its bytes); `send()` uploads the clip. */
async function pendingUpload(title: string) {
  const created = await createUploadVia(server.url, tenant.auth, { title });
  return {
    id: created.videoId,
    send: () => tusUpload(readFileSync(clip), { endpoint: created.url, headers: created.headers }).promise,
  };
}

const REQUEST_ID = /^[0-9a-f-]{36}$/;

describe('vodcloud videos', () => {
  it('wait --until ready returns when the video is ready (exit 0); list and get show it', async () => {
    const { id, send } = await pendingUpload('CLI clip');
    const env = { VODCLOUD_API: server.url, VODCLOUD_API_KEY: tenant.key };
    const w = start(
      ['videos', 'wait', id, '--until', 'ready', '--interval', '200ms', '--timeout', '90s', '--json'],
      env,
    );
    // It is polling a video that has no bytes yet; only then does the upload start.
    await w.seen(new RegExp(`${id} {2}waiting_upload`));
    await send();
    const code = await w.done;
    expect(code, w.stderr()).toBe(0);
    const waited = JSON.parse(w.stdout());
    expect(waited).toMatchObject({ id, status: 'ready', playable: true });
    // In a pipe, one stderr line per change, not one per poll.
    const lines = w.stderr().split('\n').filter(Boolean);
    expect(lines[0]).toMatch(new RegExp(`^${id} {2}waiting_upload {2}\\[\\.{20}\\] 0% {2}renditions 0/0$`));
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.length).toBeLessThan(20);

    // Already ready: playable is reached at once.
    const p = await cli(['videos', 'wait', id, '--until', 'playable']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(new RegExp(`^${id} playable after \\d+`));

    const list = await cli(['videos', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const page = JSON.parse(list.stdout);
    expect(page.data.find((v: { id: string }) => v.id === id)).toMatchObject({
      status: 'ready',
      title: 'CLI clip',
    });
    // In a pipe: tab-separated lines, no header, no JSON.
    const tsv = await cli(['videos', 'list', '--status', 'ready']);
    expect(tsv.code, tsv.stderr).toBe(0);
    const row = tsv.stdout.split('\n').find((l) => l.startsWith(id))!;
    expect(row.split('\t')).toEqual([id, 'CLI clip', 'ready', '0:04', waited.createdAt]);
    expect(tsv.stdout).not.toMatch(/^ID/);

    const got = await cli(['videos', 'get', id, '--json']);
    expect(got.code, got.stderr).toBe(0);
    // Detection runs beside the ladder and may have moved on since (issue 18).
    expect(JSON.parse(got.stdout)).toEqual({
      ...waited,
      updatedAt: expect.any(String),
      detection: expect.anything(),
    });
    const human = await cli(['videos', 'get', id]);
    expect(human.stdout).toMatch(new RegExp(`^id +${id}\n`));
    expect(human.stdout).toMatch(/status +ready\n/);
    expect(human.stdout).toMatch(
      new RegExp(`renditions +${waited.renditions.length}/${waited.renditions.length} ready`),
    );
    expect(() => JSON.parse(human.stdout)).toThrow();
  }, 120_000);

  it('wait times out on a video that never gets ready (exit 4) and stops on one that errors (exit 5)', async () => {
    // Created, never uploaded: it stays waiting_upload.
    const never = (await createUploadVia(server.url, tenant.auth, { title: 'never' })).videoId;
    const t0 = Date.now();
    const w = await cli(['videos', 'wait', never, '--timeout', '1500ms', '--interval', '200ms', '--json']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(w.code, w.stderr).toBe(4);
    expect(JSON.parse(w.stdout)).toMatchObject({
      error: { code: 'timeout' },
      video: { id: never, status: 'waiting_upload' },
    });
    expect(w.stderr).toMatch(/was not ready within 1s \(last status: waiting_upload\)/);

    // Random bytes are no video: the pipeline errors it.
    const bad = await upload(randomBytes(64 * 1024), 'noise');
    const e = await cli(['videos', 'wait', bad, '--interval', '200ms', '--timeout', '60s', '--json']);
    expect(e.code, e.stderr).toBe(5);
    const doc = JSON.parse(e.stdout);
    expect(doc.error.code).toBe('video_errored');
    expect(doc.video).toMatchObject({ id: bad, status: 'errored', error: { code: expect.any(String) } });
    expect(e.stderr).toContain(`video ${bad} errored: ${doc.video.error.code}`);
  }, 90_000);

  it('delete asks for --yes off a terminal (exit 2), deletes with it; get then exits 3 with the code and request id', async () => {
    const id = (await createUploadVia(server.url, tenant.auth, { title: 'to delete' })).videoId;
    const refused = await cli(['videos', 'delete', id]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not on a terminal: give --yes/);
    expect((await cli(['videos', 'get', id])).code).toBe(0);

    const del = await cli(['videos', 'delete', id, '--yes', '--json']);
    expect(del.code, del.stderr).toBe(0);
    expect(JSON.parse(del.stdout)).toEqual({ id, deleted: true });

    const gone = await cli(['videos', 'get', id]);
    expect(gone.code).toBe(3);
    expect(gone.stdout).toBe('');
    expect(gone.stderr).toMatch(
      /error: .*\(not_found, HTTP 404 on GET \/v1\/videos\/\S+, request id [0-9a-f-]{36}\)/,
    );
    const goneJson = await cli(['videos', 'get', id, '--json']);
    expect(goneJson.code).toBe(3);
    const err = JSON.parse(goneJson.stdout).error;
    expect(err).toMatchObject({ code: 'not_found', status: 404 });
    expect(err.requestId).toMatch(REQUEST_ID);
    expect(goneJson.stderr).toContain(err.requestId);
  });

  it('lists every video across pages with --all, and stops at --limit', async () => {
    const other = await server.tenant('many');
    const ids = new Set<string>();
    for (let i = 0; i < 105; i++)
      ids.add((await createUploadVia(server.url, other.auth, { title: `v${i}` })).videoId);
    const all = await cli(['videos', 'list', '--all', '--json'], other.key);
    expect(all.code, all.stderr).toBe(0);
    const page = JSON.parse(all.stdout);
    expect(page.nextCursor).toBeNull();
    expect(new Set(page.data.map((v: { id: string }) => v.id))).toEqual(ids);
    const some = JSON.parse((await cli(['videos', 'list', '--limit', '102', '--json'], other.key)).stdout);
    expect(some.data).toHaveLength(102);
    expect(some.nextCursor).toEqual(expect.any(String));
    expect(new Set(some.data.map((v: { id: string }) => v.id)).size).toBe(102);
    const ready = JSON.parse(
      (await cli(['videos', 'list', '--status', 'ready', '--json'], other.key)).stdout,
    );
    expect(ready.data).toEqual([]);
  }, 60_000);

  it('usage errors exit 2, a refused key 6', async () => {
    const noKey = await runCli(['videos', 'list'], { VODCLOUD_API: server.url, VODCLOUD_API_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--key KEY or VODCLOUD_API_KEY/);
    expect((await cli(['videos', 'list', '--limit', '0'])).code).toBe(2);
    expect((await cli(['videos', 'list', '--status', 'nonsense'])).code).toBe(2);
    expect((await cli(['videos', 'wait', 'x', '--timeout', 'soon'])).code).toBe(2);
    expect((await cli(['videos', 'frobnicate'])).code).toBe(2);
    const bad = await cli(['videos', 'list', '--json'], 'vk_not-a-real-key-000000000000000000000000000');
    expect(bad.code).toBe(6);
    expect(JSON.parse(bad.stdout).error).toMatchObject({ code: 'unauthorized', status: 401 });
  });
});

describe('vodcloud status', () => {
  it('lists the instance, its readiness, queue depths and open alerts (admin key); a tenant key exits 6', async () => {
    // A job due in an hour: the queue depth the cluster view reports must show it.
    const jobs = new Jobs(server.ctx.ports.queue);
    const probe = await jobs.enqueue(
      'uploads.sweep',
      { at: new Date().toISOString() },
      { jobId: `cli-status-${Date.now()}`, delayMs: 3_600_000 },
    );
    try {
      const s = await cli(['status', '--json'], server.adminKey);
      expect(s.code, s.stderr).toBe(0);
      const doc = JSON.parse(s.stdout);
      expect(doc.api).toBe(server.url);
      expect(doc.ready).toMatchObject({ httpStatus: 200, status: 'ok' });
      expect(doc.ready.checks.map((c: { name: string }) => c.name)).toEqual(
        expect.arrayContaining(['database', 'storage', 'queue', 'registry']),
      );
      const me = doc.instances.find((i: { url: string }) => i.url === server.url);
      expect(me).toMatchObject({ roles: expect.arrayContaining(['api', 'worker', 'monitor']) });
      expect(me.services).toEqual(expect.arrayContaining(['vod-api', 'vod-worker']));
      expect(doc.queues).toContainEqual(
        expect.objectContaining({ name: 'uploads.sweep', queue: 'fast', delayed: 1 }),
      );
      expect(doc.alerts).toEqual({ open: expect.any(Array), more: false });

      const t = await onTerminal(['status'], { VODCLOUD_API: server.url, VODCLOUD_API_KEY: server.adminKey });
      expect(t.code, t.output).toBe(0);
      expect(t.output).toMatch(/INSTANCE +URL +ROLES +VERSION +UPTIME +LOAD +HEALTH/);
      expect(t.output).toMatch(/QUEUE +JOB +WAITING +DELAYED +ACTIVE\r?\nfast +uploads\.sweep +0 +1 +0/);
      expect(t.output).not.toMatch(/^\s*\{/);
    } finally {
      await jobs.cancel(probe);
    }
    const refused = await cli(['status'], tenant.key);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(
      /\(forbidden, HTTP 403 on GET \/v1\/admin\/\S+, request id [0-9a-f-]{36}\)/,
    );
  }, 60_000);
});

describe('on a terminal', () => {
  it('videos list prints a table and wait a progress line that ends when the video is ready', async () => {
    const env = { VODCLOUD_API: server.url, VODCLOUD_API_KEY: tenant.key };
    const { id, send } = await pendingUpload('on a tty');
    const run = start(['videos', 'wait', id, '--interval', '200ms'], env, { tty: true });
    await run.seen(new RegExp(`${id} {2}waiting_upload`));
    await send();
    const w = { code: await run.done, output: run.output() };
    expect(w.code, w.output).toBe(0);
    // Redrawn in place (\r, erase line) with a spinner, the status, a bar, the renditions done, the time.
    const frames = w.output.split('\r\x1b[K').slice(1);
    expect(frames.length).toBeGreaterThan(3);
    expect(frames[0]).toMatch(
      new RegExp(`^. ${id} {2}waiting_upload {2}\\[\\.{20}\\] 0% {2}renditions 0/0 {2}\\d+(ms|s)`),
    );
    expect(frames.some((f) => /(queued|processing)/.test(f))).toBe(true);
    expect(w.output).toMatch(new RegExp(`${id} ready after \\d+`));

    const l = await onTerminal(['videos', 'list'], env);
    expect(l.code, l.output).toBe(0);
    const lines = l.output.split(/\r?\n/);
    expect(lines[0]).toMatch(/^ID +TITLE +STATUS +DURATION +CREATED$/);
    expect(lines.find((x) => x.startsWith(id))).toMatch(
      /^\S+ +on a tty +ready +0:04 +\d{4}-\d\d-\d\d \d\d:\d\dZ$/,
    );
    expect(l.output).not.toMatch(/^\s*[[{]/);
  }, 120_000);
});

describe('videos delete on a terminal', () => {
  it('asks first: "n" keeps the video (exit 1), "y" deletes it', async () => {
    const env = { VODCLOUD_API: server.url, VODCLOUD_API_KEY: tenant.key };
    const id = (await createUploadVia(server.url, tenant.auth, { title: 'ask me' })).videoId;
    const no = await onTerminal(['videos', 'delete', id], env, 60_000, 'n\r');
    expect(no.code, no.output).toBe(1);
    expect(no.output).toContain(`Delete video ${id} (ask me, waiting_upload)? [y/N]`);
    expect(no.output).toMatch(/not deleted/);
    expect((await cli(['videos', 'get', id])).code).toBe(0);
    const yes = await onTerminal(['videos', 'delete', id], env, 60_000, 'y\r');
    expect(yes.code, yes.output).toBe(0);
    expect(yes.output).toContain(`deleted ${id}`);
    expect((await cli(['videos', 'get', id])).code).toBe(3);
  }, 90_000);
});

describe('vodcloud doctor', () => {
  it('--json: every check present with real results against the running server (queue probe taken by its worker)', async () => {
    const d = await runCli(
      ['doctor', '--json'],
      { VOD_DATA_DIR: server.dataDir, VOD_LOG_LEVEL: 'warn' },
      60_000,
    );
    expect(d.code, d.stderr).toBe(0);
    const doc = JSON.parse(d.stdout);
    const by = Object.fromEntries(doc.checks.map((c: { name: string }) => [c.name, c]));
    expect(Object.keys(by)).toEqual([
      'ffmpeg',
      'ffprobe',
      'decoders',
      'encoders',
      'database',
      'secrets',
      'cache',
      'storage',
      'queue',
      'registry',
      'clock',
    ]);
    expect(doc.ok).toBe(true);
    expect(by.decoders).toMatchObject({
      status: expect.stringMatching(/ok|warn/),
      detail: expect.stringMatching(/^decodes h264, aac/),
    });
    expect(by.encoders.detail).toMatch(/libx264, aac present/);
    expect(by.storage).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/wrote, read back \(sha256 equal\) and deleted 64 KiB/),
    });
    expect(by.queue).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/taken by a worker and completed in \d+ ms/),
    });
    expect(by.registry).toMatchObject({ status: 'ok', detail: expect.stringMatching(/in-process registry/) });
    expect(by.secrets).toMatchObject({ status: 'warn', fix: expect.stringMatching(/VOD_MASTER_KEY/) });
    // The probe job really went through the server's queue: it is stored, completed.
    const jobId = /probe job (\S+)/.exec(by.queue.detail)![1]!;
    expect(await server.ctx.ports.queue.getJob(jobId)).toMatchObject({
      name: 'uploads.sweep',
      state: 'completed',
    });
  }, 60_000);
});

const SUITE = 'vodcloud doctor on ZooKeeper and BullMQ';
const zkUrl = engineUrl('zookeeper', SUITE);
const redisUrl = engineUrl('redis', SUITE);

describe.skipIf(!zkUrl || !redisUrl)(SUITE, () => {
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const prefix = `vodclidoc-${run}`;
  let zkServer: TestServer | undefined;
  afterAll(async () => {
    await zkServer?.close();
    await deleteRedisKeys(`${prefix}:*`, { url: redisUrl! });
  });

  it('reads the registry session and the clock skew between nodes, and sends the probe through BullMQ', async () => {
    const env = {
      VOD_REGISTRY_URL: `${zkUrl}/vodcli-${run}`,
      VOD_QUEUE_URL: redisUrl!,
      VOD_QUEUE_PREFIX: prefix,
    };
    zkServer = await startTestServer(env);
    const d = await runCli(
      ['doctor', '--json'],
      { ...env, VOD_DATA_DIR: zkServer.dataDir, VOD_LOG_LEVEL: 'warn' },
      60_000,
    );
    expect(d.code, d.stderr).toBe(0);
    const by = Object.fromEntries(JSON.parse(d.stdout).checks.map((c: { name: string }) => [c.name, c]));
    expect(by.registry).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/session connected; .*vod-api 1/),
    });
    // The server's node reports its clock every 5 s; on one machine the offset is the registry's latency.
    expect(by.clock.status, by.clock.detail).toBe('ok');
    expect(by.clock.detail).toMatch(
      /^skew \d+ ms across 1 node\(s\) and this machine \(offsets: \S+ [+-]\d+ ms\)$/,
    );
    const skew = Number(/^skew (\d+) ms/.exec(by.clock.detail)![1]);
    expect(skew).toBeLessThan(1000);
    expect(by.queue).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^VOD_QUEUE_URL=redis:.*taken by a worker and completed/),
    });
    const jobId = /probe job (\S+)/.exec(by.queue.detail)![1]!;
    expect(await zkServer.ctx.ports.queue.getJob(jobId)).toMatchObject({
      name: 'uploads.sweep',
      state: 'completed',
    });
  }, 90_000);
});
