import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The production build's copy: `npm run build` writes dist/console/ beside dist/vodcloud.js. */
export const PREBUILT_CONSOLE = path.join(import.meta.dirname, 'console');
/** In a checkout (tsx, vitest): `npm run build:console` (also run by `npm install`'s prepare) writes apps/console/dist. */
export const CHECKOUT_CONSOLE = path.resolve(import.meta.dirname, '../../../../console/dist');

export interface ConsoleFile {
  body: Buffer;
  type: string;
  etag: string;
  /** Under assets/: named by their content's hash, cached for a year. */
  hashed: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

function* walk(dir: string, prefix = ''): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* walk(full, `${prefix}${name}/`);
    else yield `${prefix}${name}`;
  }
}

/** The built console, every file read into memory (a few hundred KiB), keyed by URL path (`/assets/x.js`). */
export type ConsoleFiles = Map<string, ConsoleFile>;

async function load(dir: string): Promise<ConsoleFiles> {
  const files: ConsoleFiles = new Map();
  for (const rel of walk(dir)) {
    const body = await readFile(path.join(dir, rel));
    files.set(`/${rel}`, {
      body,
      type: TYPES[path.extname(rel)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      hashed: rel.startsWith('assets/'),
    });
  }
  return files;
}

let cached: Promise<ConsoleFiles> | undefined;

/**
 * The built console (dist/console of the production build, else apps/console/dist), read once; undefined
 * while it was not built (looked for again on the next call, so a build made after start is picked up).
 */
export async function consoleFiles(
  dirs = [PREBUILT_CONSOLE, CHECKOUT_CONSOLE],
): Promise<ConsoleFiles | undefined> {
  if (cached) return cached;
  const dir = dirs.find((d) => existsSync(path.join(d, 'index.html')));
  if (!dir) return undefined;
  cached = load(dir).catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
