/**
 * `npm run lint:openapi` (part of `npm run lint`): writes the server's /openapi.json (serverDocument() of
 * gen-sdk-types.ts, without VOD_PUBLIC_URL) to a temporary file and lints it with Spectral
 * (`.spectral.yaml`: spectral:oas) and Redocly (`redocly.yaml`: recommended). Exits non-zero on any error of
 * either; warnings are printed. Offline: both linters run from node_modules.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serverDocument } from './gen-sdk-types';

const root = path.resolve(import.meta.dirname, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'vod-openapi-'));
const file = path.join(dir, 'openapi.json');
let failed = false;
try {
  // As a server without VOD_PUBLIC_URL serves it (servers: `/`).
  writeFileSync(file, JSON.stringify(await serverDocument({})));
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
