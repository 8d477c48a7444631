// `npm run bench -- package-sizes`: what users download and ship. For @vodcloud/upload, @vodcloud/player
// and @vodcloud/sdk: the npm tarball (`npm pack --dry-run`: packed and unpacked bytes, files), and each
// package alone bundled for the browser by esbuild from its built dist (minified; dependencies included:
// tus-js-client, hls.js, openapi-fetch, jose…), raw and gzipped (level 9), plus the player's prebuilt
// self-contained dist/vod-player.min.js. Builds the packages first when their dist is stale.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BROWSER_BUNDLE, buildPackages, PACKAGES, packagesStale } from '../scripts/build';
import { printTable } from './lib/report';

const ROOT = path.resolve(import.meta.dirname, '..');

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/** The package alone, as an app that imports it and uses everything it exports would ship it. */
async function browserBundle(name: string): Promise<Buffer> {
  const out = await build({
    ...BROWSER_BUNDLE,
    stdin: { contents: `export * from '@vodcloud/${name}';`, resolveDir: ROOT, loader: 'js' },
  });
  return Buffer.from(out.outputFiles![0]!.contents);
}

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    console.log('usage: npm run bench -- package-sizes   (builds the packages first when stale)');
    return;
  }
  if (packagesStale()) console.log(await buildPackages());
  const { stdout } = await promisify(execFile)(
    'npm',
    ['pack', '--dry-run', '--json', '--ignore-scripts', ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  const packed = JSON.parse(stdout) as Array<{
    name: string;
    size: number;
    unpackedSize: number;
    entryCount: number;
  }>;
  const rows: string[][] = [];
  for (const p of PACKAGES) {
    const info = packed.find((x) => x.name === `@vodcloud/${p}`)!;
    const bundle = await browserBundle(p);
    rows.push([
      `@vodcloud/${p}`,
      kib(info.size),
      kib(info.unpackedSize),
      String(info.entryCount),
      kib(bundle.length),
      kib(gzipSync(bundle, { level: 9 }).length),
    ]);
  }
  const prebuilt = readFileSync(path.join(ROOT, 'packages/player/dist/vod-player.min.js'));
  rows.push([
    'player dist/vod-player.min.js',
    '',
    '',
    '',
    kib(prebuilt.length),
    kib(gzipSync(prebuilt, { level: 9 }).length),
  ]);
  printTable(['package', 'packed', 'unpacked', 'files', 'browser min', 'min+gzip'], rows);
}
