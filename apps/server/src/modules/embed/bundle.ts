import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The prebuilt bundle of the production build: `npm run build` writes dist/player.js beside dist/vodcloud.js. */
export const PREBUILT_PLAYER = path.join(import.meta.dirname, 'player.js');
/**
 * In a checkout (run by tsx or vitest): the package's own browser bundle, packages/player/dist/vod-player.min.js,
 * built by `npm install` (the `prepare` script), `npm run build` or `npm run build:packages`.
 */
export const PACKAGE_PLAYER = path.resolve(
  import.meta.dirname,
  '../../../../../packages/player/dist/vod-player.min.js',
);

let cached: Promise<{ code: string; etag: string }> | undefined;

const etagOf = (code: string) => `"${createHash('sha256').update(code).digest('base64url').slice(0, 22)}"`;

/**
 * The <vod-player> browser bundle (hls.js included), read once: the production build's dist/player.js, else
 * the player package's dist/vod-player.min.js. Nothing is built at run time.
 */
export function playerBundle(): Promise<{ code: string; etag: string }> {
  cached ??= (async () => {
    const file = [PREBUILT_PLAYER, PACKAGE_PLAYER].find((f) => existsSync(f));
    if (!file)
      throw new Error(
        `the <vod-player> bundle is missing (neither ${PREBUILT_PLAYER} nor ${PACKAGE_PLAYER} exists): run npm run build`,
      );
    const code = await readFile(file, 'utf8');
    return { code, etag: etagOf(code) };
  })().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
