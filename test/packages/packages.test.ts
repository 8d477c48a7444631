// The packages as users get them (issue 15): `npm pack` of @vodcloud/upload, @vodcloud/player and
// @vodcloud/sdk, the tarballs installed into an empty project (once for the whole file), then
//   (a) a Node ESM program using the SDK against a real running server, and examples/upload-folder.mjs;
//   (b) the three packages bundled for the browser with esbuild from the installed copies, run in Chromium:
//       uploads from the page, a <vod-player> plays the video to its end;
//   (c) consumer projects typechecked in strict mode: the browser entry points without @types/node, the
//       Node entry points with it under Node16 resolution;
//   (d) examples/express-server.mjs run against the server (uploads, playback tokens, real and altered
//       webhooks), and its page (examples/browser, built by `npm run build:browser`) in Chromium: a file
//       chosen in Uppy's Dashboard is uploaded with tus and played by <vod-player>.
// The project is examples/package.json's (Express and Uppy from the npm cache) with the tarballs.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSecret, signedHeaders } from '../../apps/server/src/modules/webhooks/sender';
import { startTestServer, type TestServer } from '../support/app';
import { hasChromium, launchBrowser } from '../support/browser';
import { createTemplate, makeClip } from '../support/videos';
import type { BrowserRun } from './fixtures/browser';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const PACKAGES = ['upload', 'player', 'sdk'] as const;

/** The environment of child processes: without npm's own variables (when run by `npm test`) and conditions. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^npm_/i.test(k) || /^npm_config_(cache|userconfig|registry)$/i.test(k)) env[k] = v;
  delete env.NODE_OPTIONS;
  return { ...env, ...extra };
}

interface Packed {
  name: string;
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

const dir = mkdtempSync(path.join(tmpdir(), 'vodpkg-'));
const consumer = path.join(dir, 'consumer');
const clip = path.join(dir, 'clip.mp4');
let packed: Packed[] = [];
let server: TestServer;
let tenant: { id: string; key: string; auth: { authorization: string } };
let templateId: string;

beforeAll(async () => {
  const t0 = performance.now();
  const [{ stdout }] = await Promise.all([
    run(
      'npm',
      [
        'pack',
        '--json',
        '--ignore-scripts',
        '--pack-destination',
        dir,
        ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`]),
      ],
      {
        cwd: ROOT,
        env: childEnv(),
        maxBuffer: 16 * 1024 * 1024,
      },
    ),
    (async () => {
      server = await startTestServer({
        VOD_FETCH_ALLOW_HOSTS: '127.0.0.1',
        VOD_WORKER_CONCURRENCY: 'cpu=2,io=2,fast=4',
      });
      tenant = await server.tenant('packages');
      templateId = await createTemplate(server.url, tenant.auth, {
        name: 'tiny',
        renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
        audio: { bitrate: 64_000 },
        hls: { segmentDuration: 2 },
        mp4: 'none',
      });
    })(),
    makeClip(clip, { size: '320x240', rate: 25, duration: 2, audio: true }),
  ]);
  packed = JSON.parse(stdout) as Packed[];
  const tPacked = performance.now();
  mkdirSync(consumer);
  // The project is examples/package.json as a user installs it before a release (examples/README.md):
  // its Express and Uppy from the registry (the npm cache: they are root devDependencies), the @vodcloud
  // packages from the tarballs.
  const examples = JSON.parse(readFileSync(path.join(ROOT, 'examples/package.json'), 'utf8'));
  const deps = {
    ...Object.fromEntries(
      Object.entries(examples.dependencies as Record<string, string>).filter(
        ([name]) => !name.startsWith('@vodcloud/'),
      ),
    ),
    ...Object.fromEntries(packed.map((p) => [p.name, `file:../${p.filename}`])),
  };
  writeFileSync(
    path.join(consumer, 'package.json'),
    JSON.stringify(
      { name: 'consumer', private: true, type: 'module', scripts: examples.scripts, dependencies: deps },
      null,
      2,
    ),
  );
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: consumer,
    env: childEnv(),
  });
  for (const f of ['node-consumer.mjs', 'browser.ts'])
    copyFileSync(path.join(FIXTURES, f), path.join(consumer, f));
  for (const f of ['upload-folder.mjs', 'express-server.mjs', 'browser'])
    cpSync(path.join(ROOT, 'examples', f), path.join(consumer, f), { recursive: true });
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(
    `packages: packed (with server start and clip) in ${s(tPacked - t0)}, installed into an empty project in ${s(performance.now() - tPacked)}; ` +
      packed.map((p) => `${p.name} ${p.size} B packed / ${p.unpackedSize} B unpacked`).join(', '),
  );
}, 240_000);

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the packed packages', () => {
  it('hold their dist (ESM, .d.ts, the player bundle), a changelog and readme, and no sources or tests', () => {
    expect(packed.map((p) => p.name).sort()).toEqual([
      '@vodcloud/player',
      '@vodcloud/sdk',
      '@vodcloud/upload',
    ]);
    for (const p of packed) {
      const files = p.files.map((f) => f.path);
      expect(files, p.name).toEqual(
        expect.arrayContaining(['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist/index.d.ts']),
      );
      expect(
        files.filter((f) => /^src\/|\.test\.|(^|\/)test\//.test(f)),
        p.name,
      ).toEqual([]);
      const pkg = JSON.parse(
        readFileSync(path.join(consumer, 'node_modules', p.name, 'package.json'), 'utf8'),
      );
      expect(pkg.private, p.name).toBeUndefined();
      expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(pkg.license).toBeTruthy();
    }
    const files = (name: string) => packed.find((p) => p.name === name)!.files.map((f) => f.path);
    expect(files('@vodcloud/upload')).toEqual(
      expect.arrayContaining(['dist/index.browser.js', 'dist/index.node.js']),
    );
    expect(files('@vodcloud/player')).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/vod-player.min.js', 'THEMING.md']),
    );
    expect(files('@vodcloud/sdk')).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/generated/openapi.d.ts']),
    );
  });
});

describe('(a) a Node ESM program with the installed SDK against a running server', () => {
  it('uploads, waits, lists, iterates, updates, gets VodCloudErrors, signs tokens the server accepts, verifies webhooks', async () => {
    const { stdout, stderr } = await run(process.execPath, ['node-consumer.mjs'], {
      cwd: consumer,
      env: childEnv({
        VOD_URL: server.url,
        VOD_KEY: tenant.key,
        CLIP: clip,
        TEMPLATE_ID: templateId,
        VODCLOUD_UPLOAD_STORE: path.join(dir, 'uploads.json'),
      }),
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err) => {
      throw new Error(`node-consumer.mjs failed: ${err.stderr || err.message}`);
    });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(stderr).toBe('');
    expect(out.upload).toMatchObject({ title: 'consumer clip', lastPercent: 100 });
    expect(out.ready).toEqual({ status: 'ready', playable: true, policy: 'signed' });
    const id = out.upload.id;
    // Newest first: the never-uploaded video is made after the list, so the uploaded one heads it.
    expect(out.list.ids).toEqual([id]);
    expect(out.list.nextCursor).toBeNull();
    expect(out.iterate).toEqual([id]);
    expect(out.update).toEqual({ title: 'renamed by the SDK', fetched: 'renamed by the SDK' });
    expect(out.notFound).toMatchObject({ vodCloudError: true, status: 404, code: 'not_found' });
    expect(out.notFound.requestId).toMatch(/\S/);
    expect(out.timeout).toMatchObject({ vodCloudError: true, code: 'timeout' });
    expect(out.signingKey.hasPrivateKey).toBe(true);
    expect(out.playback).toEqual({ signed: 200, tampered: 403, none: 403, wrongAudience: 403 });
    expect(out.webhook).toMatchObject({ type: 'video.ready' });
    expect(out.webhook.id).toBe(out.webhook.header);
    expect(out.webhookRejects).toEqual({
      again: 'accepted',
      body: 'invalid_signature',
      secret: 'invalid_signature',
      signature: 'invalid_signature',
      late: 'invalid_signature',
    });
    // An Idempotency-Key on every POST the SDK made (a UUID each), none on other methods.
    const requests = out.requests as Array<{ method: string; path: string; key: string | null }>;
    const posts = requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.path)).toEqual(
      expect.arrayContaining(['/v1/webhooks', '/v1/uploads', '/v1/signing-keys']),
    );
    for (const r of posts)
      expect(r.key, r.path).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(posts.map((r) => r.key)).size).toBe(posts.length);
    expect(requests.filter((r) => r.method !== 'POST' && r.key !== null)).toEqual([]);
  }, 200_000);

  it('examples/upload-folder.mjs uploads every video of a folder', async () => {
    const folder = path.join(dir, 'folder');
    mkdirSync(folder);
    copyFileSync(clip, path.join(folder, 'first.mp4'));
    copyFileSync(clip, path.join(folder, 'second.mov'));
    writeFileSync(path.join(folder, 'notes.txt'), 'not a video');
    const { stdout } = await run(process.execPath, ['upload-folder.mjs', folder], {
      cwd: consumer,
      env: childEnv({
        VODCLOUD_URL: server.url,
        VODCLOUD_API_KEY: tenant.key,
        VODCLOUD_UPLOAD_STORE: path.join(dir, 'uploads.json'),
      }),
      timeout: 120_000,
    });
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    expect(lines.map(([file]) => path.basename(file!)).sort()).toEqual(['first.mp4', 'second.mov']);
    for (const [file, id] of lines) {
      const v = await (await fetch(`${server.url}/v1/videos/${id}`, { headers: tenant.auth })).json();
      expect(v.title).toBe(path.parse(file!).name);
      expect(v.sizeBytes).toBe(readFileSync(clip).length);
    }
  }, 150_000);
});

describe.skipIf(!hasChromium())('(b) the packages bundled for the browser from the installed copies', () => {
  let browser: Browser;
  let result: BrowserRun;
  let pageLog: string[] = [];

  beforeAll(async () => {
    const out = await build({
      entryPoints: [path.join(consumer, 'browser.ts')],
      absWorkingDir: consumer,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(out.metafile.inputs);
    // Every @vodcloud module comes from the installed tarballs' dist, and no Node module is in the bundle.
    const ours = inputs.filter((i) => i.includes('@vodcloud/'));
    expect(ours.length).toBeGreaterThanOrEqual(3);
    for (const i of ours) expect(i).toMatch(/^node_modules\/@vodcloud\/(upload|player|sdk)\/dist\//);
    expect(inputs).toContain('node_modules/@vodcloud/upload/dist/index.browser.js');
    expect(inputs.some((i) => i.includes('tus-js-client/lib.esm/browser/'))).toBe(true);
    expect(inputs.filter((i) => /^node:|tus-js-client\/lib\.esm\/node\//.test(i))).toEqual([]);
    const bundle = out.outputFiles[0]!.text;
    const secret = newSecret();
    const raw = JSON.stringify({
      id: 'evt_1',
      type: 'video.ready',
      createdAt: new Date().toISOString(),
      data: {},
    });
    const pages = http.createServer((req, res) => {
      const p = new URL(req.url ?? '/', 'http://x').pathname;
      if (p === '/bundle.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      else if (p === '/clip.mp4') res.writeHead(200, { 'content-type': 'video/mp4' }).end(readFileSync(clip));
      else
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(
            '<!doctype html><meta charset="utf-8"><body><script type="module" src="/bundle.js"></script></body>',
          );
    });
    await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    expect(origin).not.toBe(new URL(server.url).origin);
    browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      pageLog = [];
      page.on('console', (m) => pageLog.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => pageLog.push(`pageerror: ${e.message}`));
      await page.goto(origin);
      await page.waitForFunction(() => 'vodTest' in window, undefined, { timeout: 10_000 });
      result = await page.evaluate((o) => window.vodTest.run(o), {
        baseUrl: server.url,
        apiKey: tenant.key,
        clipUrl: `${origin}/clip.mp4`,
        webhook: { raw, headers: signedHeaders(secret, 'evt_1', raw), secret },
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\npage log:\n${pageLog.join('\n')}`);
    } finally {
      await browser.close();
      await new Promise((r) => pages.close(r));
    }
  }, 150_000);

  it('uploads from the page with @vodcloud/upload and the SDK, verifies a webhook and signs a token with WebCrypto', () => {
    expect(result.platform).toBe('browser');
    expect(result.uploaded.videoId).toMatch(/^[0-9A-Z]{26}$/);
    expect(result.video).toMatchObject({ status: 'ready', playable: true });
    expect(result.webhook).toEqual({ accepted: 'video.ready', tampered: 'invalid_signature' });
    expect(result.tokenParts).toBe(3);
  });

  it('plays the video with <vod-player> to its end', () => {
    expect(result.videoEnded, pageLog.join('\n')).toBe(true);
  });

  // <vod-player> re-dispatches its media events (issue 15, part 4): `ended` arrives on the element itself.
  it('receives `ended` from the <vod-player> element itself', () => {
    expect(result.elementEnded, `events on the element: ${result.events.join(', ')}`).toBe(true);
  });
});

describe.concurrent('(c) consumer projects typecheck in strict mode', () => {
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const typecheck = async (project: string) => {
    try {
      await run(process.execPath, [tsc, '-p', project, '--pretty', 'false'], {
        cwd: consumer,
        env: childEnv(),
      });
      return [];
    } catch (err) {
      return String((err as { stdout?: string }).stdout ?? err)
        .split('\n')
        .filter((l) => /error TS/.test(l));
    }
  };

  it('the browser entry points, with the DOM library and without @types/node', async () => {
    writeFileSync(
      path.join(consumer, 'tsconfig.browser.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2022', 'DOM', 'DOM.Iterable'],
          module: 'ESNext',
          moduleResolution: 'Bundler',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['browser.ts'],
      }),
    );
    const errors = await typecheck('tsconfig.browser.json');
    // tus-js-client's own typings name Node's Buffer (in the `file` union): that upstream line is the only
    // error allowed, nothing in our packages' declarations.
    const ours = errors.filter(
      (e) =>
        !/^node_modules\/tus-js-client\/lib\/index\.d\.ts\(\d+,\d+\): error TS25(80|91): Cannot find name 'Buffer'/.test(
          e,
        ),
    );
    expect(ours).toEqual([]);
    expect(errors.every((e) => !e.includes('@vodcloud'))).toBe(true);
  }, 120_000);

  it('the Node entry points, with @types/node and Node16 resolution', async () => {
    const project = path.join(consumer, 'node-check');
    mkdirSync(project, { recursive: true });
    copyFileSync(path.join(FIXTURES, 'node-types.ts'), path.join(project, 'node-types.ts'));
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2022'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          typeRoots: [path.join(ROOT, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['node-types.ts'],
      }),
    );
    expect(await typecheck(path.join(project, 'tsconfig.json'))).toEqual([]);
  }, 120_000);

  it('the Node examples parse (node --check)', async () => {
    for (const f of ['upload-folder.mjs', 'express-server.mjs'])
      await expect(run(process.execPath, ['--check', path.join(ROOT, 'examples', f)])).resolves.toBeDefined();
  });
});

/** A port nothing listens on now (the example takes PORT, and the webhook's URL must name it first). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

// The examples as their README runs them: examples/package.json's dependencies installed (above),
// `npm run build:browser`, a webhook endpoint made first (its secret goes into the environment), then
// `node express-server.mjs` against a real vodcloud server; the page driven in Chromium like a user.
describe('(d) examples/express-server.mjs and its Uppy + <vod-player> page, run for real', () => {
  let express: ChildProcess;
  let base: string;
  let log = '';
  let hook: { id: string; secret: string };
  let nodeVideoId = '';
  let ex: { key: string; auth: { authorization: string } };
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    const t0 = performance.now();
    ex = await server.tenant('examples');
    // `npm run build:browser` with esbuild on the PATH (the examples' devDependency; the root's here).
    await run('npm', ['run', '--silent', 'build:browser'], {
      cwd: consumer,
      env: childEnv({ PATH: `${path.join(ROOT, 'node_modules/.bin')}${path.delimiter}${process.env.PATH}` }),
    });
    const tBuilt = performance.now();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const created = await fetch(`${server.url}/v1/webhooks`, {
      method: 'POST',
      headers: { ...ex.auth, ...json },
      body: JSON.stringify({ url: `${base}/webhooks/vodcloud`, events: ['video.ready'] }),
    });
    expect(created.status).toBe(201);
    hook = await created.json();
    express = spawn(process.execPath, ['express-server.mjs'], {
      cwd: consumer,
      env: childEnv({
        VODCLOUD_URL: server.url,
        VODCLOUD_API_KEY: ex.key,
        VODCLOUD_WEBHOOK_SECRET: hook.secret,
        PORT: String(port),
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    express.stdout!.on('data', (b) => (log += b));
    express.stderr!.on('data', (b) => (log += b));
    const until = Date.now() + 15_000;
    while (!log.includes(`:${port}`)) {
      if (express.exitCode !== null || Date.now() > until)
        throw new Error(`express-server.mjs did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `examples: build:browser in ${s(tBuilt - t0)}, express-server.mjs listening ${s(performance.now() - tBuilt)} later`,
    );
  }, 60_000);

  afterAll(() => {
    express?.kill();
  });

  /** Polls GET /videos/:id/play (as the page does) until the video is playable. */
  async function playable(videoId: string) {
    const until = Date.now() + 90_000;
    for (;;) {
      const res = await fetch(`${base}/videos/${videoId}/play`);
      expect(res.status, log).toBe(200);
      const play = await res.json();
      if (play.playable || Date.now() > until) return play;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('serves the page, its bundle and stylesheet at /', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<vod-player id="player"/);
    for (const [file, type] of [
      ['bundle.js', /javascript/],
      ['bundle.css', /css/],
    ] as const) {
      const res = await fetch(`${base}/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toMatch(type);
      expect((await res.text()).length, file).toBeGreaterThan(1000);
    }
  });

  it('POST /uploads makes a tus upload that takes a clip; GET /videos/:id/play a token the server accepts', async () => {
    const res = await fetch(`${base}/uploads`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ title: 'via the backend' }),
    });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(Object.keys(created).sort()).toEqual(['headers', 'url', 'videoId']);
    expect(JSON.stringify(created)).not.toContain(ex.key);
    const bytes = readFileSync(clip);
    await new Promise<void>((resolve, reject) =>
      new tus.Upload(bytes, {
        endpoint: created.url,
        headers: created.headers,
        metadata: { filename: 'clip.mp4', filetype: 'video/mp4' },
        retryDelays: [],
        onSuccess: () => resolve(),
        onError: reject,
      }).start(),
    );
    nodeVideoId = created.videoId;
    const play = await playable(created.videoId);
    expect(play).toMatchObject({ playable: true, streamBase: server.url });
    expect(play.token.split('.')).toHaveLength(3);
    const master = `${play.streamBase}/hls/${play.playbackId}/master.m3u8`;
    const signed = await fetch(`${master}?token=${play.token}`);
    expect(signed.status).toBe(200);
    expect(await signed.text()).toMatch(/^#EXTM3U/);
    expect((await fetch(master)).status).toBe(403);
    const video = await (
      await fetch(`${server.url}/v1/videos/${created.videoId}`, { headers: ex.auth })
    ).json();
    expect(video).toMatchObject({ title: 'via the backend', sizeBytes: bytes.length });
    expect(video.playback.policy).toBe('signed');
    // An unknown video: the SDK's VodCloudError, passed on by the error handler.
    const missing = await fetch(`${base}/videos/01ARZ3NDEKTSV4RRFFQ69G5FAV/play`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'not_found' });
  }, 120_000);

  it('POST /webhooks/vodcloud takes the real video.ready delivery and refuses altered ones', async () => {
    // The upload of the test above made a video.ready; vodcloud delivered it to the example.
    const until = Date.now() + 30_000;
    let deliveries: Array<{ eventType: string; status: string; responseStatus: number | null }> = [];
    while (Date.now() < until) {
      const res = await fetch(`${server.url}/v1/webhooks/${hook.id}/deliveries`, { headers: ex.auth });
      deliveries = (await res.json()).data;
      if (deliveries.some((d) => d.status !== 'retrying')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(deliveries[0], log).toMatchObject({
      eventType: 'video.ready',
      status: 'succeeded',
      responseStatus: 204,
    });
    // The example logs each verified event: this one is about the video uploaded above.
    expect(log).toMatch(/webhook video\.ready \S+/);
    expect(nodeVideoId).not.toBe('');
    expect(log).toContain(nodeVideoId);

    const raw = JSON.stringify({
      id: 'evt_x',
      type: 'video.ready',
      createdAt: new Date().toISOString(),
      data: {},
    });
    const post = (body: string, headers: Record<string, string>, contentType = 'application/json') =>
      fetch(`${base}/webhooks/vodcloud`, {
        method: 'POST',
        headers: { ...headers, 'content-type': contentType },
        body,
      });
    // Signed with the endpoint's secret: accepted (whatever the content type: the signature decides).
    const good = signedHeaders(hook.secret, 'evt_x', raw);
    expect((await post(raw, good)).status).toBe(204);
    expect((await post(raw, good, 'text/plain')).status).toBe(204);
    const altered = {
      body: await post(raw.replace('video.ready', 'video.deleted'), good),
      secret: await post(raw, signedHeaders(newSecret(), 'evt_x', raw)),
      signature: await post(raw, { ...good, 'webhook-signature': 'v1,AAAA' }),
      late: await post(raw, signedHeaders(hook.secret, 'evt_x', raw, Date.now() - 3_600_000)),
      unsigned: await post(raw, {}),
    };
    const answers = Object.fromEntries(
      await Promise.all(Object.entries(altered).map(async ([k, r]) => [k, `${r.status} ${await r.text()}`])),
    );
    // 400 with the SDK's reason (VodCloudError invalid_signature's detail), never a 500.
    for (const [k, answer] of Object.entries(answers)) expect(answer, k).toMatch(/^400 \S/);
    expect(answers.unsigned).toMatch(/headers are required/);
    expect(answers.late).toMatch(/timestamp/);
  }, 60_000);

  it.skipIf(!hasChromium())(
    'the page uploads a file added to Uppy’s Dashboard with tus and <vod-player> plays it',
    async () => {
      const browser = await launchBrowser();
      const pageLog: string[] = [];
      try {
        const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
        page.on('console', (m) => pageLog.push(`${m.type()}: ${m.text()}`));
        page.on('pageerror', (e) => pageLog.push(`pageerror: ${e.message}`));
        await page.goto(`${base}/`);
        // The events of the <vod-player> element itself, recorded from before the upload.
        await page.evaluate(() => {
          const events: string[] = [];
          (window as unknown as { playerEvents: string[] }).playerEvents = events;
          for (const type of ['loadedmetadata', 'playing', 'ended'])
            document.getElementById('player')!.addEventListener(type, () => events.push(type));
        });
        // What a user does: choose a file in the Dashboard ("browse files" is this input).
        await page
          .locator('.uppy-Dashboard-input')
          .first()
          .setInputFiles({
            name: 'browser-clip.mp4',
            mimeType: 'video/mp4',
            buffer: readFileSync(clip),
          });
        await page.waitForFunction(
          () => !(document.getElementById('player') as HTMLElement).hidden,
          undefined,
          { timeout: 90_000 },
        );
        // The player is muted; a user presses its play button.
        await page.locator('vod-player button.play').click();
        await page.waitForFunction(
          () => (window as unknown as { playerEvents: string[] }).playerEvents.includes('playing'),
          undefined,
          { timeout: 20_000 },
        );
        await page.screenshot({ path: path.join(tmpdir(), 'vodcloud-examples-page.png') });
        await page.waitForFunction(
          () => (window as unknown as { playerEvents: string[] }).playerEvents.includes('ended'),
          undefined,
          { timeout: 20_000 },
        );
        const events = await page.evaluate(
          () => (window as unknown as { playerEvents: string[] }).playerEvents,
        );
        expect(events).toEqual(expect.arrayContaining(['playing', 'ended']));
        expect(await page.locator('#status').textContent()).toBe('browser-clip.mp4: ended');
        // Uppy reports the upload done, and vodcloud has the video under the file's name.
        const list = await (await fetch(`${server.url}/v1/videos?limit=10`, { headers: ex.auth })).json();
        const uploaded = list.data.find((v: { title: string }) => v.title === 'browser-clip.mp4');
        expect(uploaded).toMatchObject({ sizeBytes: readFileSync(clip).length, playable: true });
      } catch (err) {
        throw new Error(`${(err as Error).message}\npage log:\n${pageLog.join('\n')}\nserver log:\n${log}`);
      } finally {
        await browser.close();
      }
    },
    150_000,
  );
});
