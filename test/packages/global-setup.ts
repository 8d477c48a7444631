// Vitest's global setup: builds packages/{upload,player,sdk}/dist when missing or older than their
// sources (a fresh clone whose `npm install` could not run `prepare`, or sources changed since). The server
// serves the player's dist/vod-player.min.js, and the package tests pack the dist folders.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { packagesStale } from '../../scripts/build';

export default async function setup() {
  if (!packagesStale()) return;
  const root = path.resolve(import.meta.dirname, '../..');
  const t0 = Date.now();
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--packages'], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  console.log(
    `built the packages' dist in ${((Date.now() - t0) / 1000).toFixed(1)} s (their sources had changed)`,
  );
}
