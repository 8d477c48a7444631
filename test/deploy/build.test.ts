// The production build (issue 14): `npm run build` makes dist/vodcloud.js (+ lazy chunks) and dist/player.js;
// everything the bundle imports from node_modules is a production dependency (so `npm ci --omit=dev` is
// enough), neither tsx nor esbuild is loaded at run time, the server serves the prebuilt player, and the
// moderation model's worker thread (dist/model-worker.mjs) loads from there.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

/** The production dependencies of the server and the workspace packages it bundles. */
function productionDependencies(): Set<string> {
  const names = new Set<string>();
  for (const pkg of [
    'apps/server',
    'packages/contracts',
    'packages/media',
    'packages/storage',
    'packages/upload',
  ]) {
    const json = JSON.parse(readFileSync(path.join(ROOT, pkg, 'package.json'), 'utf8'));
    for (const n of Object.keys(json.dependencies ?? {})) if (!n.startsWith('@vodcloud/')) names.add(n);
  }
  return names;
}

const packageOf = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;

describe('production build', () => {
  // Inside the checkout, so the bundle finds node_modules as dist/ would.
  mkdirSync(path.join(ROOT, 'node_modules/.cache'), { recursive: true });
  const out = mkdtempSync(path.join(ROOT, 'node_modules/.cache/vodbuild-'));
  const data = mkdtempSync(path.join(tmpdir(), 'vodbuild-data-'));
  beforeAll(async () => {
    await run(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], {
      cwd: ROOT,
      env: { ...process.env, VOD_BUILD_OUT: out },
    });
  }, 120_000);
  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  it('imports from node_modules only production dependencies, never tsx or esbuild at start', async () => {
    const { external } = JSON.parse(await readFile(path.join(out, 'build.json'), 'utf8')) as {
      external: string[];
    };
    expect(external.length).toBeGreaterThan(10);
    const prod = productionDependencies();
    const missing = external.map(packageOf).filter((p) => !prod.has(p) && p !== 'esbuild');
    expect(missing, 'imported by the bundle but not a production dependency').toEqual([]);
    const entry = await readFile(path.join(out, 'vodcloud.js'), 'utf8');
    expect(entry).not.toMatch(/from ["']tsx|from ["']esbuild/);
    const { stdout } = await run(process.execPath, [path.join(out, 'vodcloud.js'), '--version']);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('puts the moderation model worker beside the bundle, where it loads the model from node_modules', async () => {
    const { external } = JSON.parse(await readFile(path.join(out, 'build.json'), 'utf8')) as {
      external: string[];
    };
    expect(external).toEqual(
      expect.arrayContaining(['nsfwjs', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']),
    );
    const worker = new Worker(path.join(out, 'model-worker.mjs'), { execArgv: [] });
    try {
      const ready = await new Promise<{ ready?: boolean; backend?: string; fetchCalls?: number }>(
        (resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        },
      );
      expect(ready).toMatchObject({ ready: true, backend: 'wasm', fetchCalls: 0 });
    } finally {
      await worker.terminate();
    }
  }, 60_000);

  it('serve runs from the bundle and serves the prebuilt player bundle', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [path.join(out, 'vodcloud.js'), 'serve'], {
      env: {
        ...process.env,
        VOD_DATA_DIR: data,
        VOD_PORT: String(port),
        VOD_HOST: '127.0.0.1',
        VOD_ADMIN_API_KEY: 'build-test-admin-key-0123456789',
        VOD_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ok = await fetch(`${base}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`the bundled server did not become ready: ${stderr.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const res = await fetch(`${base}/embed/vod-player.js`);
      expect(res.status).toBe(200);
      const served = await res.text();
      expect(served).toBe(await readFile(path.join(out, 'player.js'), 'utf8'));
      // The web console, from dist/console/, at / and at its client routes.
      const index = await readFile(path.join(out, 'console/index.html'), 'utf8');
      for (const url of ['/', '/library']) {
        const page = await fetch(`${base}${url}`, { headers: { accept: 'text/html' } });
        expect(page.status).toBe(200);
        expect(await page.text()).toBe(index);
      }
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
  }, 60_000);
});
