import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { FileStore } from '@tus/file-store';
import { EVENTS, Server } from '@tus/server';
import { type DataStore, ERRORS, type KvStore, Upload } from '@tus/utils';
import { withoutUnsafeText } from '@vodcloud/contracts';
import type { ObjectStore } from '@vodcloud/storage';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import type { UploadsTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import type { Cache } from '../../ports/cache';
import type { TenantService } from '../tenants/service';
import { sourceKey } from '../videos';
import { CacheLocker } from './locker';
import { TUS_PATH, type UploadService } from './service';
import { fail, noteTusCaller, TUS_ID, tusAccess, URL_ID } from './tus-access';
import { createFastPatch } from './tus-fast';
import { runTusRequest, tusProblem } from './tus-problem';
import { createTusStore, type TusStore } from './tus-store';

export { TUS_PATH };

export interface TusDeps {
  config: Config;
  storage: ObjectStore;
  cache: Cache;
  uploads: UploadService;
  tenants: TenantService;
  log: Logger;
  /** Shared metadata cache for the S3 store (Redis in a cluster); in-memory otherwise. */
  kvStore?: KvStore<never>;
  /** Counts the bytes uploads wrote (vod_upload_received_bytes_total). */
  receivedBytes?: { inc(bytes: number): void };
}

export interface TusHandle {
  server: Server;
  /** Serves one tus request (a few protocol cases first, then @tus/server); `requestId` goes into problems. */
  handle(req: IncomingMessage, res: ServerResponse, requestId?: string): Promise<void>;
  datastore: DataStore;
  /** Removes an upload's partial data (aborts its S3 multipart upload, or deletes its file). */
  remove(tusId: string): Promise<void>;
  /** The store's own view (existence of an upload's state, open S3 multipart uploads). */
  store: TusStore;
  /** Where the finished bytes are, for the file store (S3 uploads land at their final key). */
  filePath(tusId: string): string | undefined;
}

export async function createTus(deps: TusDeps): Promise<TusHandle> {
  const { config, uploads, tenants, log } = deps;
  const store = await createTusStore(deps);
  const { datastore } = store;
  answerFinishedUploads(datastore, uploads);
  countWrites(datastore, deps.receivedBytes);

  const { callers, authenticate, authorize, limitFor } = tusAccess(uploads, tenants, config);

  const server = new Server({
    path: TUS_PATH,
    datastore,
    locker: new CacheLocker(deps.cache, { leaseMs: 10_000, acquireTimeoutMs: 30_000 }),
    respectForwardedHeaders: false,
    allowedOrigins: config.corsOrigins === '*' ? undefined : config.corsOrigins,
    exposedHeaders: ['X-Video-Id', 'X-Upload-Id'],
    disableTerminationForFinishedUploads: true,
    // "tenant.video" in URLs; the upload id inside is the source's object key.
    generateUrl: (_req, { proto, host, path: p, id }) => {
      const m = TUS_ID.exec(id);
      const urlId = m ? `${m[1]}.${m[2]}` : id;
      const base = config.uploadUrl ?? config.advertiseUrl ?? config.publicUrl ?? `${proto}://${host}`;
      return `${base}${p}/${urlId}`;
    },
    getFileIdFromRequest: (_req, lastPath) => {
      const m = lastPath ? URL_ID.exec(lastPath) : null;
      return m ? sourceKey(m[1]!, m[2]!) : undefined;
    },
    namingFunction: async (req, metadata) => {
      const caller = await authenticate(req);
      const length = req.headers.get('upload-length');
      if (!length) throw fail(400, 'Upload-Length is required (deferred lengths are not accepted)');
      // An empty file is no video: refused before anything is created (tus would finish it inside the POST).
      if (Number(length) === 0)
        throw new AppError('validation_failed', 'Upload-Length is 0: an empty file is not a video', {
          errors: [{ path: 'headers.upload-length', message: 'must be at least 1' }],
        });
      let row = caller.upload;
      if (row) {
        if (row.status !== 'waiting' && !(await creationCutOff(store, row, length)))
          throw fail(
            409,
            'This upload token was already used to create an upload; resume it with HEAD and PATCH on its URL',
          );
      } else {
        // Refuse before creating anything, so an oversized request leaves no placeholder behind.
        if (Number(req.headers.get('upload-length')) > (await limitFor(caller.tenantId, undefined)))
          throw ERRORS.ERR_MAX_SIZE_EXCEEDED;
        row = await uploads.createForKey(caller.tenantId, metadata ?? {});
      }
      callers.set(req, { ...caller, upload: row });
      noteTusCaller(req, caller, row);
      return row.tus_id;
    },
    maxSize: async (req, id) => {
      if (id === null) return config.uploadMaxBytes; // OPTIONS: the platform limit
      const caller = await authenticate(req);
      return limitFor(
        caller.tenantId,
        caller.upload?.tus_id === id ? caller.upload : await uploads.byTusId(id),
      );
    },
    onIncomingRequest: async (req, id) => {
      if (req.method === 'POST') return; // authorised in namingFunction
      await authorize(req, id);
    },
    onUploadCreate: async (req, upload: Upload) => {
      const caller = callers.get(req);
      const row = caller?.upload;
      if (!row) throw fail(500, 'internal: upload row missing');
      const filename = withoutUnsafeText(upload.metadata?.filename ?? '').slice(0, 500) || null;
      // A creation retried after one cut off (see creationCutOff) finds its row started already.
      const from = row.status === 'uploading' ? 'uploading' : 'waiting';
      if (!(await uploads.started(row, upload.size ?? 0, filename, [from])))
        throw fail(409, 'This upload was already created');
      return { metadata: { ...(upload.metadata ?? {}) } };
    },
    onUploadFinish: async (_req, upload: Upload) => {
      await uploads.completed(upload.id, upload.size ?? upload.offset);
      const row = await uploads.byTusId(upload.id);
      return { headers: { 'X-Video-Id': row?.video_id ?? '', 'X-Upload-Id': row?.id ?? '' } };
    },
    onResponseError: async (_req, err) => {
      const problem = tusProblem(err);
      if (problem) return problem;
      const e = err as { status_code?: number };
      if (!e.status_code || e.status_code >= 500) log.error({ err }, 'tus request failed');
      return undefined;
    },
  });

  recordTerminations(server, uploads, log);

  // PATCH on the file store without @tus/server's stream layers (tus-fast.ts); anything else goes to it.
  const fastPatch = createFastPatch({ server, tusPath: TUS_PATH, receivedBytes: deps.receivedBytes });

  return {
    server,
    datastore,
    store,
    handle(req: IncomingMessage, res: ServerResponse, requestId?: string) {
      return runTusRequest(res, requestId, async () => {
        if (await answeredBefore(req, res, { uploads, authorize, datastore })) return;
        if (fastPatch && req.method === 'PATCH' && (await fastPatch(req, res))) return;
        await server.handle(req, res);
      });
    },
    async remove(tusId: string) {
      try {
        await datastore.remove(tusId);
      } catch (err) {
        if ((err as { status_code?: number }).status_code !== 404) throw err;
      }
    },
    filePath(tusId: string) {
      return datastore instanceof FileStore ? path.join(config.dataDir, 'uploads', tusId) : undefined;
    },
  };
}

/** A client terminated its upload (tus DELETE): the upload is cancelled and its placeholder video goes. */
function recordTerminations(server: Server, uploads: UploadService, log: Logger): void {
  server.on(EVENTS.POST_TERMINATE, (_req: unknown, _res: unknown, id: string) => {
    uploads
      .terminated(id)
      .catch((err) => log.error({ err, tusId: id }, 'could not record a terminated upload'));
  });
}

/**
 * Whether an upload token's creation POST was cut off after its upload row was marked started but before
 * the tus upload existed (the lock or the store failed: the chaos suite saw it while Redis restarted), so
 * the client may send the creation again with the same token (the same length). Without this the token
 * was spent (409) and the upload's URL unknown (404): the upload was lost.
 * Asked of the storage itself: the data store's `getUpload` answers 404 for any failure to read its
 * metadata cache (Redis down), and a creation let through then opened a second multipart upload and
 * leaked the first (chaos finding C). A storage that cannot answer fails the request (5xx: try again).
 */
async function creationCutOff(store: TusStore, row: UploadsTable, length: string): Promise<boolean> {
  if (row.status !== 'uploading' || String(row.size) !== length) return false;
  return !(await store.exists(row.tus_id));
}

/**
 * The PATCH cases answered before @tus/server: a body that is not application/offset+octet-stream (tus
 * says 415; @tus/server answers 400), and a retried final PATCH of a finished upload, answered as the
 * first was (stores cannot append to a finished object). True when it answered.
 */
async function answeredPatch(req: IncomingMessage, res: ServerResponse, d: Settling): Promise<boolean> {
  const { uploads, authorize, datastore } = d;
  // tus says 415 for a body that is not application/offset+octet-stream (@tus/server answers 400).
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/offset+octet-stream') {
    reply(
      res,
      415,
      { 'Content-Type': 'text/plain' },
      'Content-Type must be application/offset+octet-stream\n',
    );
    return true;
  }
  // A retried final PATCH of a finished upload is answered as the first was (stores cannot append to a finished object).
  const m = URL_ID.exec(req.url?.split('?')[0]?.split('/').pop() ?? '');
  if (m && req.headers['tus-resumable']) {
    let row = await uploads.byTusId(sourceKey(m[1]!, m[2]!));
    if (row?.status === 'uploading' && req.headers['upload-offset'] === String(row.size))
      row = (await recordFinished(req, uploads, datastore, row)) ?? row;
    if (row?.status === 'complete' && req.headers['upload-offset'] === String(row.size)) {
      const web = new Request('http://x/', { headers: req.headers as Record<string, string> });
      try {
        await authorize(web, row.tus_id);
      } catch (err) {
        const e = err as { status_code?: number; body?: string };
        reply(res, e.status_code ?? 500, { 'Content-Type': 'text/plain' }, e.body ?? '');
        return true;
      }
      // Bytes past the declared length are refused (413, as @tus/server answers a body larger than what
      // remains), not acknowledged and dropped: only an empty retry of the final PATCH is answered 204.
      if (await hasBody(req)) {
        reply(
          res,
          413,
          { 'Content-Type': 'text/plain', Connection: 'close' },
          `The upload is complete at ${row.size} bytes; no byte may follow\n`,
        );
        return true;
      }
      reply(res, 204, {
        'Upload-Offset': String(row.size),
        'X-Video-Id': row.video_id,
        'X-Upload-Id': row.id,
      });
      return true;
    }
  }
  return false;
}

/** What answeredBefore needs. */
interface Settling {
  uploads: UploadService;
  authorize: (req: Request, tusId: string) => Promise<UploadsTable>;
  datastore: DataStore;
}

/** What is settled before @tus/server sees a request: a finished upload's HEAD and PATCH (see below). */
async function answeredBefore(req: IncomingMessage, res: ServerResponse, d: Settling): Promise<boolean> {
  if (req.method === 'HEAD') await recordFinished(req, d.uploads, d.datastore).catch(() => undefined);
  return req.method === 'PATCH' && answeredPatch(req, res, d);
}

/**
 * Every byte of an upload arrived but its completion was not recorded (the database was away, e.g. during a
 * failover, when the last PATCH ended): the client's next HEAD or PATCH records it, so the upload completes
 * as soon as the database is back. tus clients ask HEAD after a failed PATCH and take offset = length as
 * done; without this the upload would wait for the periodic sweep (`uploads.sweep` reconciles it within a
 * minute). Returns the row as it is then, or undefined when there was nothing to record.
 */
async function recordFinished(
  req: IncomingMessage,
  uploads: UploadService,
  datastore: DataStore,
  known?: UploadsTable,
): Promise<UploadsTable | undefined> {
  const m = URL_ID.exec(req.url?.split('?')[0]?.split('/').pop() ?? '');
  if (!m || !req.headers['tus-resumable']) return undefined;
  const key = sourceKey(m[1]!, m[2]!);
  const row = known ?? (await uploads.byTusId(key));
  if (row?.status !== 'uploading' || !row.size) return undefined;
  const stored = await datastore.getUpload(row.tus_id).catch(() => undefined);
  if (stored?.offset !== row.size) return undefined;
  await uploads.completed(row.tus_id, row.size);
  return uploads.byTusId(key);
}

/** Whether a request carries body bytes: its Content-Length, or (chunked) whether any byte arrives. */
function hasBody(req: IncomingMessage): Promise<boolean> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    if (Number(declared) === 0) req.resume();
    return Promise.resolve(Number(declared) !== 0);
  }
  return new Promise((resolve) => {
    req.once('data', () => resolve(true));
    req.once('end', () => resolve(false));
    req.once('error', () => resolve(false));
    req.resume();
  });
}

/**
 * A finished upload is still answered by the store (offset = length) while its upload row exists, although
 * its bytes have moved on (the file store's upload is published into the object store and removed by
 * `upload.finalize`, which may run before the POST or PATCH that finished it has answered). Without this a
 * creation-with-upload that finished inside the POST answered 410 without a Location (@tus/server reads the
 * upload back for Upload-Expires), and HEAD on a just-completed upload answered 410.
 */
function answerFinishedUploads(datastore: DataStore, uploads: UploadService): void {
  const getUpload = datastore.getUpload.bind(datastore);
  datastore.getUpload = async (id: string) => {
    try {
      return await getUpload(id);
    } catch (err) {
      const status = (err as { status_code?: number }).status_code;
      if (status !== 404 && status !== 410) throw err;
      const row = await uploads.byTusId(id);
      if (row?.status !== 'complete' || row.size === null) throw err;
      return new Upload({ id, size: Number(row.size), offset: Number(row.size) });
    }
  };
}

function reply(res: ServerResponse, status: number, headers: Record<string, string>, body = ''): void {
  res.writeHead(status, { 'Tus-Resumable': '1.0.0', 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

/** Every PATCH's bytes, as the store took them (the new offset minus the old one). */
function countWrites(datastore: DataStore, counter: TusDeps['receivedBytes']): void {
  if (!counter) return;
  const write = datastore.write.bind(datastore);
  datastore.write = async (stream, id, offset) => {
    const next = await write(stream, id, offset);
    if (next > offset) counter.inc(next - offset);
    return next;
  };
}
