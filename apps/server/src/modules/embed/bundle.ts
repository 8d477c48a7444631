import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** packages/player/src/index.ts, from the source tree (a checkout run by tsx/vitest). */
export const PLAYER_ENTRY = path.resolve(import.meta.dirname, '../../../../../packages/player/src/index.ts');
/** The prebuilt bundle of the production build: `npm run build` writes dist/player.js beside dist/vodcloud.js. */
export const PREBUILT_PLAYER = path.join(import.meta.dirname, 'player.js');

let cached: Promise<{ code: string; etag: string }> | undefined;

const etagOf = (code: string) => `"${createHash('sha256').update(code).digest('base64url').slice(0, 22)}"`;

/**
 * The <vod-player> browser bundle (hls.js included): the production build's dist/player.js, read once;
 * in a checkout, built once per process with esbuild's JS API into memory on first use (esbuild is a
 * development dependency, loaded lazily, so a server that never serves an embed page never needs it).
 */
export function playerBundle(): Promise<{ code: string; etag: string }> {
  cached ??= (async () => {
    if (existsSync(PREBUILT_PLAYER)) {
      const code = await readFile(PREBUILT_PLAYER, 'utf8');
      return { code, etag: etagOf(code) };
    }
    if (!existsSync(PLAYER_ENTRY)) throw new Error(`player source not found at ${PLAYER_ENTRY}`);
    const esbuild = await import('esbuild');
    const out = await esbuild.build({
      entryPoints: [PLAYER_ENTRY],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2020'],
      minify: true,
      write: false,
      legalComments: 'none',
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]!.text;
    return { code, etag: etagOf(code) };
  })().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
