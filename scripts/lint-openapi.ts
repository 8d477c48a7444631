/**
 * `npm run lint:openapi` (part of `npm run lint`): builds the server in memory on the embedded defaults (a
 * temporary data folder, SQLite), writes its /openapi.json to a temporary file and lints it with Spectral
 * (`.spectral.yaml`: spectral:oas) and Redocly (`redocly.yaml`: recommended). Exits non-zero on any error of
 * either; warnings are printed. Offline: both linters run from node_modules.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../apps/server/src/config';
import { closeContext, createContext } from '../apps/server/src/context';
import { buildApp } from '../apps/server/src/http/app';

const root = path.resolve(import.meta.dirname, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'vod-openapi-'));
const file = path.join(dir, 'openapi.json');
let failed = false;
try {
  const config = loadConfig({}, { VOD_DATA_DIR: dir, VOD_LOG_LEVEL: 'silent' });
  const ctx = await createContext(config, pino({ level: 'silent' }));
  try {
    const app = await buildApp(ctx);
    const res = await app.inject({ url: '/openapi.json' });
    if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}`);
    writeFileSync(file, res.body);
    await app.close();
  } finally {
    await closeContext(ctx);
  }
  const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
  for (const [name, args] of [
    ['spectral', ['lint', '--ruleset', path.join(root, '.spectral.yaml'), '--fail-severity', 'error', file]],
    ['redocly', ['lint', '--config', path.join(root, 'redocly.yaml'), file]],
  ] as const) {
    console.log(`— ${name}`);
    const r = spawnSync(bin(name), [...args], { cwd: root, env, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`${name}: exit ${r.status ?? r.signal}`);
      failed = true;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failed) process.exit(1);
