import { existsSync } from 'node:fs';
import path from 'node:path';

/** packages/player/src/index.ts, from the source tree (this file is run from source by tsx/vitest). */
export const PLAYER_ENTRY = path.resolve(import.meta.dirname, '../../../../../packages/player/src/index.ts');

let cached: Promise<{ code: string; etag: string }> | undefined;

/**
 * The <vod-player> browser bundle (hls.js included), built once per process with esbuild's JS API into
 * memory on first use and kept. esbuild is loaded lazily, so a server that never serves an embed page
 * never needs it.
 */
export function playerBundle(): Promise<{ code: string; etag: string }> {
  cached ??= (async () => {
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
    const { createHash } = await import('node:crypto');
    return { code, etag: `"${createHash('sha256').update(code).digest('base64url').slice(0, 22)}"` };
  })().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
