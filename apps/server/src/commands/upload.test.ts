// `vodcloud upload` against a real listening server, as a separate process.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/support/app';
import { BIN } from '../../../../test/support/cli';
import { formatBytes, formatEta, parseBytes } from './upload';

const MiB = 1024 * 1024;
// Through the real binary once cli.ts registers the command; until then through a runner of just it.
const registered = readFileSync(path.resolve(import.meta.dirname, '../cli.ts'), 'utf8').includes(
  'registerUploadCommand(',
);
const ENTRY = registered ? [BIN] : ['--import', 'tsx', path.resolve(import.meta.dirname, 'run-upload.ts')];

function vodcloud(args: string[], env: Record<string, string>, onStderr?: (all: string) => void) {
  const child = spawn(process.execPath, [...ENTRY, ...args], {
    env: { ...process.env, VODCLOUD_API: '', VODCLOUD_API_KEY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    onStderr?.(stderr);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done };
}
const run = (args: string[], env: Record<string, string> = {}) => vodcloud(args, env).done;

let server: TestServer;
let tenant: { id: string; key: string };
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'vodupcli-'));
  dirs.push(d);
  return d;
};
beforeAll(async () => {
  server = await startTestServer();
  tenant = await server.tenant('cli');
});
afterAll(async () => {
  await server?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
function makeFile(dir: string, name: string, size: number) {
  const bytes = randomBytes(size);
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return { file, sha: sha256(bytes) };
}
async function storedSha(videoId: string, timeoutMs = 30_000) {
  const key = `${tenant.id}/${videoId}/source`;
  const until = Date.now() + timeoutMs;
  while (!(await server.ctx.ports.storage.head(key))) {
    if (Date.now() > until) throw new Error(`${key} not stored in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const hash = createHash('sha256');
  for await (const c of (await server.ctx.ports.storage.get(key)).body as AsyncIterable<Buffer>)
    hash.update(c);
  return hash.digest('hex');
}
const video = async (id: string) =>
  (
    await fetch(`${server.url}/v1/videos/${id}`, { headers: { authorization: `Bearer ${tenant.key}` } })
  ).json();

describe('vodcloud upload', () => {
  it('formats and parses sizes', () => {
    expect(parseBytes('52428800')).toBe(50 * MiB);
    expect(parseBytes('50MiB')).toBe(50 * MiB);
    expect(parseBytes('5m')).toBe(5 * MiB);
    expect(parseBytes('512k')).toBe(512 * 1024);
    expect(() => parseBytes('lots')).toThrow(/byte count/);
    expect(() => parseBytes('0')).toThrow();
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1.5 * MiB)).toBe('1.5 MiB');
    expect(formatEta(null)).toBe('--');
    expect(formatEta(75)).toBe('1m15s');
    expect(formatEta(3720)).toBe('1h02m');
  });

  it('--help lists the command and its options', async () => {
    const r = await run(['upload', '--help']);
    expect(r.code).toBe(0);
    for (const opt of ['--api', '--key', '--title', '--chunk-size', '--store', 'VODCLOUD_API_KEY'])
      expect(r.stdout).toContain(opt);
  });

  it('uploads two files (env defaults) and prints "<file>\\t<videoId>" for each; the stored bytes are exact', async () => {
    const dir = tempDir();
    const a = makeFile(dir, 'a.mp4', 3 * MiB + 1);
    const b = makeFile(dir, 'b.mov', 6 * MiB);
    const r = await run(
      ['upload', a.file, b.file, '--chunk-size', '2MiB', '--store', path.join(dir, 's.json')],
      {
        VODCLOUD_API: server.url,
        VODCLOUD_API_KEY: tenant.key,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const [la, lb] = lines.map((l) => l.split('\t'));
    expect(la![0]).toBe(a.file);
    expect(lb![0]).toBe(b.file);
    expect(la![1]).toMatch(/^[0-9A-Z]{26}$/);
    expect(lb![1]).toMatch(/^[0-9A-Z]{26}$/);
    expect(la![1]).not.toBe(lb![1]);
    // Not a terminal: plain progress lines on stderr, ending at 100%.
    expect(r.stderr).toMatch(/a\.mp4 {2}3\.0 MiB \/ 3\.0 MiB {2}100\.0%/);
    expect(await storedSha(la![1]!)).toBe(a.sha);
    expect(await storedSha(lb![1]!)).toBe(b.sha);
    expect((await video(la![1]!)).title).toBe('a.mp4');
  });

  it('--title and --key/--api flags', async () => {
    const dir = tempDir();
    const a = makeFile(dir, 'x.bin', 100_000);
    const r = await run([
      'upload',
      a.file,
      '--api',
      server.url,
      '--key',
      tenant.key,
      '--title',
      'My clip',
      '--store',
      path.join(dir, 's.json'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim().split('\t')[1]!;
    expect((await video(id)).title).toBe('My clip');
  });

  it('a bad key: non-zero exit with a clear message per file', async () => {
    const dir = tempDir();
    const a = makeFile(dir, 'a.bin', 1000);
    const r = await run(['upload', a.file, '--store', path.join(dir, 's.json')], {
      VODCLOUD_API: server.url,
      VODCLOUD_API_KEY: `vk_${'B'.repeat(43)}`,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      `error: ${a.file}: POST /v1/uploads failed: The API key is unknown or revoked (HTTP 401)`,
    );
    expect(r.stderr).toContain('1 of 1 upload(s) failed');
  });

  it('a missing file fails alone; no API or key configured is a usage error', async () => {
    const dir = tempDir();
    const a = makeFile(dir, 'ok.bin', 1000);
    const missing = path.join(dir, 'nope.mp4');
    const r = await run(['upload', missing, a.file, '--store', path.join(dir, 's.json')], {
      VODCLOUD_API: server.url,
      VODCLOUD_API_KEY: tenant.key,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${missing}: no such file`);
    expect(r.stdout).toMatch(
      new RegExp(`^${a.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\t[0-9A-Z]{26}\\n$`),
    );

    const noApi = await run(['upload', a.file], { VODCLOUD_API_KEY: tenant.key });
    expect(noApi.code).toBe(2);
    expect(noApi.stderr).toMatch(/--api URL or VODCLOUD_API/);
    const noKey = await run(['upload', a.file, '--api', server.url]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--key KEY or VODCLOUD_API_KEY/);
  });

  it('resumes an interrupted upload when run again on the same file', async () => {
    const dir = tempDir();
    const big = makeFile(dir, 'big.mp4', 40 * MiB);
    const store = path.join(dir, 's.json');
    const proxy = await slowProxy(server.url, 10 * MiB);
    try {
      const args = [
        'upload',
        big.file,
        '--chunk-size',
        '4MiB',
        '--store',
        store,
        '--progress-interval',
        '0.1',
      ];
      const env = { VODCLOUD_API: proxy.url, VODCLOUD_API_KEY: tenant.key };
      let signalled = false;
      const first = vodcloud(args, env, (stderr) => {
        const pct = [...stderr.matchAll(/ (\d+\.\d)%/g)].map((m) => Number(m[1]));
        if (!signalled && pct.some((p) => p >= 15 && p < 100)) {
          signalled = true;
          first.child.kill('SIGINT');
        }
      });
      const r1 = await first.done;
      expect(r1.code, r1.stderr).toBe(130);
      expect(r1.stderr).toContain('interrupted: run the same command again to resume');
      const stored = Object.values(JSON.parse(readFileSync(store, 'utf8'))) as Array<{
        vodcloud: { videoId: string };
      }>;
      expect(stored).toHaveLength(1);
      const videoId = stored[0]!.vodcloud.videoId;

      const r2 = await run(args, env);
      expect(r2.code, r2.stderr).toBe(0);
      expect(r2.stderr).toContain('big.mp4: resuming an interrupted upload');
      // Its first progress line is not at 0%.
      const firstPct = Number(/big\.mp4 {2}.*? {2}(\d+\.\d)%/.exec(r2.stderr.split('resuming')[1]!)![1]);
      expect(firstPct).toBeGreaterThan(0);
      expect(r2.stdout).toBe(`${big.file}\t${videoId}\n`);
      expect(await storedSha(videoId)).toBe(big.sha);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});

/** Slows client→server bytes, so an upload is still under way when interrupted. */
async function slowProxy(target: string, bytesPerSec: number) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    const slow = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        this.push(chunk);
        setTimeout(cb, (chunk.length / bytesPerSec) * 1000);
      },
    });
    client.pipe(slow).pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}
