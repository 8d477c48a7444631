// Node-specific pieces: file paths, fs streams and a file-based URL store. Browsers get platform.browser.ts
// instead (package.json "imports" → "#platform", condition "browser"), so nothing here reaches a bundle.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, openSync, ReadStream, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { UrlStorage } from 'tus-js-client';
import * as tus from 'tus-js-client';
import type { PreparedSource, UploadFile } from './types.js';

export const platform = 'node' as const;

/** Where Node uploads remember their URLs (and tokens) to resume after a restart. */
export const DEFAULT_STORE_PATH = () =>
  process.env.VODCLOUD_UPLOAD_STORE || path.join(homedir(), '.vodcloud', 'uploads.json');

// FileUrlStorage is exported by tus-js-client's Node build only (its typings do not declare it).
const { FileUrlStorage } = tus as unknown as { FileUrlStorage: new (file: string) => UrlStorage };

export function defaultUrlStorage(storePath?: string): UrlStorage {
  const file = path.resolve(storePath ?? DEFAULT_STORE_PATH());
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // The store holds upload tokens: create it private (tus would create it 0660).
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return new FileUrlStorage(file);
}

export async function prepareSource(file: UploadFile): Promise<PreparedSource> {
  if (typeof file === 'string') {
    const st = statSync(file); // throws ENOENT with the path: a clear message for a missing file
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    // tus reads a path-backed ReadStream by ranges (a fresh stream per chunk), fingerprints it by
    // path+size+mtime, and so can resume it after a restart.
    return { source: createReadStream(file), name: path.basename(file), size: st.size };
  }
  if (file instanceof ReadStream) {
    const p = String(file.path);
    return { source: file, name: path.basename(p), size: statSync(p).size };
  }
  if (typeof Blob !== 'undefined' && file instanceof Blob) {
    // tus' Node reader takes Buffers and streams, not Blobs.
    const name = (file as { name?: unknown }).name;
    return {
      source: Buffer.from(await file.arrayBuffer()),
      name: typeof name === 'string' ? name : undefined,
      type: file.type || undefined,
      size: file.size,
    };
  }
  if (file instanceof Uint8Array) {
    const buf = Buffer.isBuffer(file) ? file : Buffer.from(file.buffer, file.byteOffset, file.byteLength);
    return { source: buf, size: buf.length };
  }
  if (file instanceof Readable) return { source: file }; // uploadable, but not resumable after a restart
  throw new TypeError('file must be a path, an fs.ReadStream, a Buffer/Uint8Array, a Blob or a Readable');
}

/**
 * Identifies a file across runs, for resuming: tus' path+size+mtime for files; the sha256 of a whole
 * Buffer (tus would hash only its first 64 KiB, and two buffers of one length that share a head would
 * collide and resume each other); null (not resumable across runs) for other streams.
 */
export async function fingerprint(source: unknown, scope: string): Promise<string | null> {
  if (Buffer.isBuffer(source))
    return `node-buffer-${createHash('sha256').update(source).digest('hex')}-${scope}`;
  if (source instanceof ReadStream)
    return tus.defaultOptions.fingerprint(source as never, { endpoint: scope });
  return null;
}
