import { stat } from 'node:fs/promises';
import path from 'node:path';
import { FileStore } from '@tus/file-store';
import { type DataStore, type KvStore, MemoryKvStore, type Upload } from '@tus/utils';
import type { ObjectStore, S3ObjectStore } from '@vodcloud/storage';
import type { Config } from '../../config';
import { fail } from './tus-access';

/** An S3 multipart upload still open in the bucket. */
export interface OpenMultipart {
  key: string;
  uploadId: string;
  initiated?: Date;
}

/** The tus data store and what vodcloud asks of it beyond the tus protocol. */
export interface TusStore {
  datastore: DataStore;
  /**
   * Whether the tus upload's state object exists (`{id}.info` in the bucket, `{id}.json` beside the file),
   * asked of the storage itself, never of the metadata cache: false only when the storage says it is
   * absent; throws when the storage cannot answer.
   */
  exists(id: string): Promise<boolean>;
  /** The bucket's open multipart uploads under `prefix` (none on the file store). */
  openMultiparts(prefix?: string): Promise<OpenMultipart[]>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
}

export interface TusStoreDeps {
  config: Config;
  storage: ObjectStore;
  /** Shared metadata cache for the S3 store (Redis in a cluster); in-memory otherwise. */
  kvStore?: KvStore<never>;
}

/** 409 when an upload's state already exists: its multipart (or file) is never opened a second time. */
const alreadyCreated = () =>
  fail(409, 'This upload was already created; resume it with HEAD and PATCH on its URL');

const isNotFound = (err: unknown) => {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return ['NotFound', 'NoSuchKey'].includes(e?.name ?? e?.Code ?? '') || e?.$metadata?.httpStatusCode === 404;
};

export async function createTusStore(deps: TusStoreDeps): Promise<TusStore> {
  const { storage } = deps;
  const store =
    storage.kind === 's3' ? await s3TusStore(deps, storage as S3ObjectStore) : fileTusStore(deps.config);
  // Lengths must be declared at creation (quotas are checked before any byte is stored), so this is not offered.
  store.datastore.extensions = store.datastore.extensions.filter((e) => e !== 'creation-defer-length');
  return store;
}

function fileTusStore(config: Config): TusStore {
  // Files on the data folder (shared storage in a multi-node file deployment); state in .json files beside them.
  const directory = path.join(config.dataDir, 'uploads');
  const datastore = new FileStore({
    directory,
    expirationPeriodInMilliseconds: config.uploadExpiresInSec * 1000,
  });
  const exists = async (id: string) => {
    try {
      await stat(path.join(directory, `${id}.json`));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  };
  // A second creation of one id would truncate the file the first one wrote (@tus/server calls create
  // under the upload's lock, so checking here is race-free).
  const create = datastore.create.bind(datastore);
  datastore.create = async (upload: Upload) => {
    if (await exists(upload.id)) throw alreadyCreated();
    return create(upload);
  };
  return { datastore, exists, openMultiparts: async () => [], abortMultipart: async () => undefined };
}

async function s3TusStore(deps: TusStoreDeps, s3: S3ObjectStore): Promise<TusStore> {
  const { config } = deps;
  const { S3Store } = await import('@tus/s3-store'); // loaded only with S3 storage
  const kv: KvStore<unknown> = (deps.kvStore as KvStore<unknown> | undefined) ?? new MemoryKvStore();

  /**
   * @tus/s3-store opens a new multipart upload on every `create` and points `{id}.info` at it, without
   * looking whether the id has one already, and never updates its metadata cache: a second creation of
   * one upload leaves the first multipart open for ever (with its parts) while writes may go on to either
   * (the chaos suite's finding C: a creation retried while Redis restarted). A creation is refused when
   * `{id}.info` exists; @tus/server calls `create` under the upload's lock, so two racing creations of one
   * id (finding D) open one multipart, not two.
   */
  class GuardedS3Store extends S3Store {
    async infoExists(id: string): Promise<boolean> {
      try {
        await this.client.headObject({ Bucket: this.bucket, Key: this.infoKey(id) });
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    }

    override async create(upload: Upload): Promise<Upload> {
      if (await this.infoExists(upload.id)) throw alreadyCreated();
      // A cached entry of an earlier upload of this id would point at another multipart upload: this
      // deletion, unlike the store's own (failing soft), must succeed before anything is opened.
      await kv.delete(upload.id);
      return super.create(upload);
    }

    async openMultiparts(prefix?: string): Promise<OpenMultipart[]> {
      const open: OpenMultipart[] = [];
      let keyMarker: string | undefined;
      let idMarker: string | undefined;
      do {
        const page = await this.client.listMultipartUploads({
          Bucket: this.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: idMarker,
        });
        for (const u of page.Uploads ?? [])
          if (u.Key && u.UploadId) open.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated });
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        idMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
      return open;
    }

    async abortMultipart(key: string, uploadId: string): Promise<void> {
      try {
        await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: key, UploadId: uploadId });
      } catch (err) {
        if ((err as { name?: string }).name !== 'NoSuchUpload') throw err;
      }
    }
  }

  // Uploads are written straight to their final key ({tenant}/{video}/source) with S3 multipart;
  // upload state lives in the bucket ({key}.info, {key}.part), so any upload node can resume any upload.
  const store = new GuardedS3Store({
    partSize: 8 * 1024 * 1024,
    useTags: false,
    expirationPeriodInMilliseconds: config.uploadExpiresInSec * 1000,
    cache: failSoft(kv) as never,
    s3ClientConfig: { ...(s3.clientConfig() as object), bucket: s3.bucket } as never,
  });
  return {
    datastore: store,
    exists: (id) => store.infoExists(id),
    openMultiparts: (prefix) => store.openMultiparts(prefix),
    abortMultipart: (key, uploadId) => store.abortMultipart(key, uploadId),
  };
}

/**
 * The S3 store's metadata cache, used as a cache: a read that fails is a miss (the store then reads
 * `{id}.info` from the bucket), a write or deletion that fails is skipped. @tus/s3-store answers 404 for
 * an upload whose cached metadata cannot be read, so while Redis was away a HEAD told clients their
 * upload was gone; and a failed deletion after the last part turned a completed upload into a 500. An
 * entry left behind is harmless: `{id}.info` only changes in `create`, which deletes the entry first.
 */
function failSoft<T>(kv: KvStore<T>): KvStore<T> {
  return {
    get: (key) => kv.get(key).catch(() => undefined),
    set: (key, value) => kv.set(key, value).catch(() => undefined),
    delete: (key) => kv.delete(key).catch(() => undefined),
  };
}

/**
 * Aborts the open multipart uploads of a finished upload's key: once its upload is complete nothing may
 * write that key with multipart any more (a new creation is refused), so any still open is a leak.
 */
export async function abortLeftoverMultiparts(store: TusStore, key: string): Promise<number> {
  let n = 0;
  for (const u of await store.openMultiparts(key)) {
    if (u.key !== key) continue; // the prefix also matches longer keys
    await store.abortMultipart(u.key, u.uploadId);
    n++;
  }
  return n;
}

/**
 * Aborts open multipart uploads started before `before` unless `keep(key)` (e.g. a live upload's key):
 * the sweep's defence against any that leaked (a live upload of that age would have expired by then).
 */
export async function abortStaleMultiparts(
  store: TusStore,
  before: Date,
  keep: (key: string) => Promise<boolean>,
): Promise<number> {
  let n = 0;
  for (const u of await store.openMultiparts()) {
    if (!u.initiated || u.initiated.getTime() >= before.getTime()) continue;
    if (await keep(u.key)) continue;
    await store.abortMultipart(u.key, u.uploadId);
    n++;
  }
  return n;
}
