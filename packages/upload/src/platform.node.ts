// Node-specific pieces: file paths, fs streams and a file-based URL store. Browsers get platform.browser.ts
// instead (package.json "imports" → "#platform", condition "browser"), so nothing here reaches a bundle.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, openSync, ReadStream, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FileReader, FileSource, SliceResult, UrlStorage } from 'tus-js-client';
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

/**
 * Bytes per read of a file being uploaded, at most. tus-js-client's own Node reader opens each chunk's
 * ReadStream with fs's default 64 KiB: 16,384 reads and socket writes per GiB, each a Buffer for the garbage
 * collector. With 4 MiB reads a 1 GiB upload in one request to a local server took 1.2–1.5 s instead of
 * 2.6–3.0 s, the client's CPU 0.9–1.1 s instead of 2.0–2.3 s (alternating, client alone in its process); in
 * `npm run bench -- upload` (the `@vodcloud/upload` variants, beside a busy server) the client's CPU fell by
 * 33–41 %. A read holds at most this much per upload.
 */
export const READ_BYTES = 4 * 1024 * 1024;
const MIN_READ_BYTES = 64 * 1024;

/**
 * The read size for a chunk size: a sixteenth of a chunk (within 64 KiB … READ_BYTES). tus reports as
 * progress what was read into the request, so a read is also the step by which progress moves; a small chunk
 * keeps small steps, and a pause loses no more than a chunk's in-flight bytes from what was reported.
 */
export function readBytesFor(chunkSize: number): number {
  if (!Number.isFinite(chunkSize)) return READ_BYTES;
  return Math.min(READ_BYTES, Math.max(MIN_READ_BYTES, 2 ** Math.floor(Math.log2(chunkSize / 16))));
}

/** A path-backed file read by ranges, as tus-js-client's FileSource, in larger reads (readBytesFor). */
class FileRangeSource implements FileSource {
  constructor(
    /** The stream tus was given: closed with the source, as tus' own FileSource does. */
    private readonly given: ReadStream,
    private readonly file: string,
    /** Where the ReadStream given started (tus' parallel uploads slice a file by ReadStream ranges). */
    private readonly offset: number,
    readonly size: number,
    private readonly readBytes: number,
  ) {}

  slice(start: number, end: number): Promise<SliceResult> {
    const stop = Math.min(end, this.size);
    // createReadStream's `end` is inclusive; a slice's is not.
    const stream = createReadStream(this.file, {
      start: this.offset + start,
      end: this.offset + stop - 1,
      highWaterMark: this.readBytes,
    });
    // tus' Node HTTP stack sends a stream with this size as its Content-Length.
    Object.assign(stream, { size: stop - start });
    return Promise.resolve({ value: stream, done: stop >= this.size });
  }

  close(): void {
    this.given.destroy();
  }
}

/**
 * tus' file reader for Node with larger reads for files given by path (an fs.ReadStream, as prepareSource
 * makes of a path); Buffers and other streams go to tus-js-client's own reader.
 */
export const fileReader: FileReader | undefined = {
  async openFile(input: unknown, chunkSize: number): Promise<FileSource> {
    if (input instanceof ReadStream && input.path != null) {
      const file = String(input.path);
      // fs.ReadStream has these (its options) but @types/node does not declare them.
      const range = input as ReadStream & { start?: number; end?: number };
      const start = range.start ?? 0;
      const end =
        range.end !== undefined && Number.isFinite(range.end) ? range.end + 1 : (await stat(file)).size;
      return new FileRangeSource(input, file, start, end - start, readBytesFor(chunkSize));
    }
    return tus.defaultOptions.fileReader.openFile(input, chunkSize);
  },
};
