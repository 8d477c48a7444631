// Uploads remembered by @vodcloud/upload in localStorage (tus' URL store, records `tus::vodcloud::…`): what
// stopped unfinished on an earlier page load, to list with "Resume" and to continue with the same upload.
import type { CreatedUpload } from '@vodcloud/upload';

export interface StoredUpload {
  /** The localStorage key. */
  key: string;
  name: string;
  size: number;
  createdAt: string;
  /** The upload as POST /v1/uploads returned it: resuming with it finds the record again (same scope). */
  upload: CreatedUpload;
}

interface StoredRecord {
  size?: number;
  creationTime?: string;
  metadata?: { filename?: string };
  uploadUrl?: string;
  vodcloud?: {
    v: 1;
    endpoint: string;
    headers: { [k: string]: string };
    uploadId: string | null;
    videoId: string | null;
  };
}

const PREFIX = 'tus::vodcloud::';

export function storedUploads(): StoredUpload[] {
  const found: StoredUpload[] = [];
  let storage: Storage;
  try {
    storage = localStorage;
  } catch {
    return found;
  }
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    if (!key?.startsWith(PREFIX)) continue;
    try {
      const r = JSON.parse(storage.getItem(key) ?? '') as StoredRecord;
      const s = r.vodcloud;
      if (s?.v !== 1 || !s.uploadId || !s.videoId || !r.uploadUrl || typeof r.size !== 'number') continue;
      found.push({
        key,
        name: r.metadata?.filename ?? '',
        size: r.size,
        createdAt: r.creationTime ?? '',
        upload: { id: s.uploadId, videoId: s.videoId, url: s.endpoint, headers: s.headers },
      });
    } catch {
      // another program's record, or a damaged one: not ours to list
    }
  }
  return found.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export function forgetStored(key: string): void {
  try {
    localStorage.removeItem(key);
  } catch {
    // nothing stored
  }
}

/** The remembered upload of this file (same name and size), to continue rather than start anew. */
export function storedFor(file: File, stored = storedUploads()): StoredUpload | undefined {
  return stored.find((s) => s.name === file.name && s.size === file.size);
}
