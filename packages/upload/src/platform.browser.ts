// Browser pieces: tus' default URL storage there is localStorage.

import type { FileReader, UrlStorage } from 'tus-js-client';
import { defaultOptions } from 'tus-js-client';
import type { PreparedSource, UploadFile } from './types.js';

export const platform = 'browser' as const;

export const DEFAULT_STORE_PATH = () => undefined;

/** tus-js-client's own reader of Blobs (slices read as the request sends them). */
export const fileReader: FileReader | undefined = undefined;

export function defaultUrlStorage(_storePath?: string): UrlStorage {
  return defaultOptions.urlStorage; // localStorage when available, otherwise a no-op store
}

export async function prepareSource(file: UploadFile): Promise<PreparedSource> {
  if (file instanceof Blob) {
    const name = (file as { name?: unknown }).name;
    return {
      source: file,
      name: typeof name === 'string' ? name : undefined,
      type: file.type || undefined,
      size: file.size,
    };
  }
  if (file instanceof Uint8Array)
    return { source: new Blob([file as Uint8Array<ArrayBuffer>]), size: file.byteLength };
  throw new TypeError('in a browser, file must be a File or Blob (paths and streams work in Node only)');
}

/**
 * Identifies a file across page loads, for resuming: tus' name/type/size/mtime of a File. A bare Blob
 * has no name or date, so two of one size would look alike: it is not resumed across page loads.
 */
export async function fingerprint(source: unknown, scope: string): Promise<string | null> {
  if (typeof File !== 'undefined' && source instanceof File)
    return defaultOptions.fingerprint(source, { endpoint: scope });
  return null;
}
