// Vitest's global setup: builds packages/{upload,player,sdk}/dist and the web console (apps/console/dist)
// when missing or older than their sources (a fresh clone whose `npm install` could not run `prepare`, or
// sources changed since). The server serves the player's dist/vod-player.min.js and the console's files,
// and the package tests pack the dist folders.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { consoleStale, packagesStale } from '../../scripts/build';

async function build(flag: '--packages' | '--console', what: string) {
  const root = path.resolve(import.meta.dirname, '../..');
  const t0 = Date.now();
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/build.ts', flag], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  console.log(`built ${what} in ${((Date.now() - t0) / 1000).toFixed(1)} s (the sources had changed)`);
}

export default async function setup() {
  if (packagesStale()) await build('--packages', "the packages' dist");
  if (consoleStale()) await build('--console', 'the web console (apps/console/dist)');
}
