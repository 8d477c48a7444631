import { createHash } from 'node:crypto';
import type { ObjectStore } from '@vodcloud/storage';
import * as tus from 'tus-js-client';

export const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function objectSha(store: ObjectStore, key: string): Promise<string> {
  const obj = await store.get(key);
  const h = createHash('sha256');
  for await (const chunk of obj.body) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Polls until fn returns a value (not undefined), or fails after timeoutMs. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface CreatedUpload {
  id: string;
  videoId: string;
  url: string;
  headers: Record<string, string>;
}

export async function createUploadVia(
  apiUrl: string,
  auth: Record<string, string>,
  body: object = {},
): Promise<CreatedUpload> {
  const res = await fetch(`${apiUrl}/v1/uploads`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`POST /v1/uploads: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedUpload;
}

/** Uploads with the official tus-js-client; resolves with the upload URL. */
export function tusUpload(
  data: Buffer,
  opts: Partial<tus.UploadOptions> & {
    endpoint?: string;
    uploadUrl?: string;
    headers: Record<string, string>;
  },
): { promise: Promise<string>; upload: tus.Upload } {
  let upload!: tus.Upload;
  const promise = new Promise<string>((resolve, reject) => {
    upload = new tus.Upload(data, {
      chunkSize: 5 * 1024 * 1024,
      retryDelays: [0, 200, 500],
      ...opts,
      onError: reject,
      onSuccess: () => resolve(upload.url!),
    });
    upload.start();
  });
  return { promise, upload };
}
