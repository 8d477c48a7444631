import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, stopChild, waitForOutput } from './proc';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface VodcloudProcess {
  pid: number;
  url: string;
  dataDir: string;
  adminKey: string;
  child: ChildProcess;
  /** JSON API call with a bearer key; throws on a non-2xx status. */
  api<T = unknown>(method: string, p: string, key: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/** BENCH_SERVER_NODE_ARGS (space-separated node flags, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`) for every server a bench starts. */
function serverNodeArgs(): string[] {
  return (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/**
 * Starts `node apps/server/bin/vodcloud.js serve` (or the build: `build`) as its own process (so its RSS and CPU are its own) with
 * embedded defaults under `dataDir`, and waits for its "serving … on http://…" line. Its output goes to
 * `<dataDir>/server.log` (or `logName`).
 */
export async function startVodcloud(opts: {
  dataDir: string;
  env?: Record<string, string>;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR'] (the profile is written when it stops). */
  nodeArgs?: string[];
  /** Arguments after `serve`, e.g. ['--roles', 'worker']. */
  serveArgs?: string[];
  /** The admin key to set (processes sharing one database must share it); default a fresh random one. */
  adminKey?: string;
  /** Log file name inside `dataDir` (default server.log; give each process sharing a data dir its own). */
  logName?: string;
  /**
   * Run the production build (`dist/vodcloud.js`, from `npm run build`: what the container image runs) instead
   * of the sources through tsx's loader (what `npm start` runs). Default: BENCH_SERVER=build in the environment.
   */
  build?: boolean;
}): Promise<VodcloudProcess> {
  await mkdir(opts.dataDir, { recursive: true });
  const program =
    (opts.build ?? process.env.BENCH_SERVER === 'build')
      ? path.join(REPO_ROOT, 'dist/vodcloud.js')
      : path.join(REPO_ROOT, 'apps/server/bin/vodcloud.js');
  if (!existsSync(program)) throw new Error(`${program} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const adminKey = opts.adminKey ?? `bench-admin-${randomBytes(16).toString('hex')}`;
  const child = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? serverNodeArgs()), program, 'serve', ...(opts.serveArgs ?? [])],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        VOD_DATA_DIR: opts.dataDir,
        VOD_PORT: String(port),
        VOD_HOST: '127.0.0.1',
        VOD_ADMIN_API_KEY: adminKey,
        VOD_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', // debug: the pipeline's step timings
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const log = createWriteStream(path.join(opts.dataDir, opts.logName ?? 'server.log'));
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let url: string;
  try {
    url = (await waitForOutput(child, /vodcloud \S+ serving .* on (http:\/\/[^\s"]+)/, 60_000)).trim();
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  if (!child.pid) throw new Error('vodcloud process has no pid');

  async function api<T>(method: string, p: string, key: string, body?: unknown): Promise<T> {
    const res = await fetch(`${url}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  return {
    pid: child.pid,
    url,
    dataDir: opts.dataDir,
    adminKey,
    child,
    api,
    stop: () => stopChild(child, 'SIGTERM'),
  };
}

/** Creates a tenant and a read+write API key for it; returns the tenant id and the key. */
export async function createTenantKey(
  server: VodcloudProcess,
  name: string,
): Promise<{ tenantId: string; key: string }> {
  const tenant = await server.api<{ id: string }>('POST', '/v1/tenants', server.adminKey, { name });
  const { key } = await server.api<{ key: string }>(
    'POST',
    `/v1/tenants/${tenant.id}/api-keys`,
    server.adminKey,
    { name: 'bench', scopes: ['read', 'write'] },
  );
  return { tenantId: tenant.id, key };
}
