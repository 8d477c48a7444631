/**
 * The tus PATCH fast path on the file store: a PATCH's body goes from the request socket into the upload's
 * file by positional writes, the socket paused while too much waits for the disk.
 *
 * Written by hand because @tus/server 2.x (PatchHandler, BaseHandler.writeToStore) turns every Node request
 * into a web Request (srvx), its body back into a Node stream (Readable.fromWeb) and pipes it through a
 * PassThrough, a StreamLimiter and the file store's counting Transform into an fs.WriteStream that writes
 * one socket read (≤ 64 KiB) at a time: the upload bench measured ~4.5 CPU seconds per GiB in the server
 * and 0.3–0.4× nginx's throughput on the same disk, the web-stream conversions and the small writes on top
 * of its profile. Here the socket's chunks are gathered (1 MiB, or whatever came while the previous write
 * was in flight) and written with one positional writev, with no stream layers between: the bench's
 * curl PATCH then ran at nginx's speed (bench/upload.ts, README "Benchmarks").
 *
 * Only the moving of bytes is ours. Every decision is the one @tus/server makes, in its order, with the
 * very hooks it is given (server.options): authorisation (onIncomingRequest), the size limit (maxSize),
 * the upload's lock (its locker: a newer request asks the holder to let go, which stops reading after
 * lockDrainTimeout and answers with what it stored), expiry (410), the offset (409), the length rules
 * (413 for a Content-Length past the declared length, and for bytes past it without one), the finish hook
 * (onUploadFinish: the upload completed, its finalize job queued) and the error answers (onResponseError:
 * problems, 503 while the database is away). A PATCH this does not take (another store, a header it does
 * not handle, listeners of the library's events) goes to @tus/server unchanged (`fastPatch` answers false).
 * A broken-off PATCH keeps the bytes it wrote: the file's size is the upload's offset, as for the library.
 */

import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { FileStore } from '@tus/file-store';
import type { Server } from '@tus/server';
import { ERRORS, EVENTS, EXPOSED_HEADERS, HEADERS, type Upload } from '@tus/utils';
import { URL_ID } from './tus-access';

/**
 * Bytes gathered for one write: each write costs a round trip to libuv's thread pool (~20 µs of the main
 * thread here), so writing each 64 KiB socket read on its own cost more than the copy into the page cache.
 */
const WRITE_AT = 1024 * 1024;
/** A smaller gathering is written after this long without reaching WRITE_AT (a slow client). */
const IDLE_WRITE_MS = 10;
/** Bytes received but not yet written above which the socket is paused (per PATCH: the memory it may hold). */
const PAUSE_ABOVE = 8 * 1024 * 1024;

/** Request headers @tus/server validates or acts on in a PATCH that this path does not handle. */
const LIBRARY_HEADERS = [
  'upload-length',
  'upload-defer-length',
  'upload-metadata',
  'upload-concat',
  'x-forwarded-proto',
  'tus-version',
];

type TusError = { status_code?: number; body?: string; message?: string };

export interface FastPatchDeps {
  server: Server;
  /** The tus path (`/tus`): a PATCH's URL is `${tusPath}/{tenant}.{video}`. */
  tusPath: string;
  receivedBytes?: { inc(bytes: number): void };
}

/** Serves a PATCH on the file store; false (nothing done) when the request is not one this path takes. */
export type FastPatch = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function createFastPatch(deps: FastPatchDeps): FastPatch | undefined {
  const { server, tusPath } = deps;
  const store = server.datastore;
  if (!(store instanceof FileStore)) return undefined;
  const opts = server.options;
  return async (req, res) => {
    const id = eligibleId(req, tusPath, opts.getFileIdFromRequest);
    if (!id || server.listenerCount(EVENTS.POST_RECEIVE) || server.listenerCount(EVENTS.POST_FINISH))
      return false;
    const web = webRequest(req, res);
    if (!web) return false;
    const headers = baseHeaders(server, req);
    const context = drainableContext(opts.lockDrainTimeout ?? 3000);
    // As @tus/server: a request that fails (the client went away) stops the write, keeping its bytes.
    req.once('error', () => context.abort());
    req.once('close', () => {
      if (!req.readableEnded) context.abort();
    });
    let status = 204;
    let body = '';
    try {
      ({ status, body } = await patch({ ...deps, store, web, req, id, context, headers }));
    } catch (err) {
      if (!context.signal.aborted) context.abort();
      ({ status, body } = await errorAnswer(server, web, err as TusError));
    }
    if (body) headers['Content-Length'] = String(Buffer.byteLength(body, 'utf8'));
    if (context.signal.aborted) headers.Connection = 'close';
    res.writeHead(status, headers);
    res.end(status === 204 ? undefined : body);
    return true;
  };
}

interface PatchArgs extends FastPatchDeps {
  store: FileStore;
  web: Request;
  req: IncomingMessage;
  id: string;
  context: DrainableContext;
  headers: Record<string, string>;
}

/** PatchHandler.send for an eligible request: the answer, or throws a tus error. */
async function patch(a: PatchArgs): Promise<{ status: number; body: string }> {
  const { server, store, web, req, id, context, headers } = a;
  const opts = server.options;
  const offset = Number.parseInt(req.headers['upload-offset'] as string, 10);
  await opts.onIncomingRequest?.(web, id);
  const maxFileSize = typeof opts.maxSize === 'function' ? await opts.maxSize(web, id) : (opts.maxSize ?? 0);
  const locker = typeof opts.locker === 'function' ? await opts.locker(web) : await opts.locker;
  const lock = locker.newLock(id);
  await lock.lock(context.signal, () => context.cancel());
  let upload: Upload;
  let newOffset: number;
  try {
    upload = await store.getUpload(id);
    const expiry = store.getExpiration();
    const created = upload.creation_date ? new Date(upload.creation_date).getTime() : Date.now();
    if (store.hasExtension('expiration') && expiry > 0 && Date.now() > created + expiry)
      throw ERRORS.FILE_NO_LONGER_EXISTS;
    if (upload.offset !== offset) throw ERRORS.INVALID_OFFSET;
    const maxBody = maxBodySize(req, upload, maxFileSize);
    if (context.signal.aborted) throw ERRORS.ABORTED;
    newOffset = await receive(req, path.join(store.directory, id), offset, maxBody, context, a.receivedBytes);
  } finally {
    await lock.unlock();
  }
  upload.offset = newOffset;
  headers['Upload-Offset'] = String(newOffset);
  let status = 204;
  let body = '';
  if (newOffset === upload.size && opts.onUploadFinish) {
    const hook = await opts.onUploadFinish(web, upload);
    if (hook?.status_code) status = hook.status_code;
    if (hook?.body) body = hook.body;
    for (const [k, v] of Object.entries(hook?.headers ?? {})) headers[k] = String(v);
  }
  const expiry = store.getExpiration();
  if (
    store.hasExtension('expiration') &&
    expiry > 0 &&
    upload.creation_date &&
    (upload.size === undefined || newOffset < upload.size)
  )
    headers['Upload-Expires'] = new Date(new Date(upload.creation_date).getTime() + expiry).toUTCString();
  return { status, body };
}

/** BaseHandler.calculateMaxBodySize: how many bytes this PATCH may bring (413 when its length says more). */
function maxBodySize(req: IncomingMessage, upload: Upload, configured: number): number {
  const declared = req.headers['content-length'];
  const length = Number.parseInt(declared || '0', 10);
  if (upload.sizeIsDeferred) {
    if (declared !== undefined && configured > 0 && upload.offset + length > configured)
      throw ERRORS.ERR_SIZE_EXCEEDED;
    return configured > 0 ? configured - upload.offset : Number.MAX_SAFE_INTEGER;
  }
  if (upload.offset + length > (upload.size || 0)) throw ERRORS.ERR_SIZE_EXCEEDED;
  return declared !== undefined ? length : (upload.size || 0) - upload.offset;
}

/**
 * Writes the request's body into `file` from `offset`; resolves with the new offset once every byte taken
 * is on the file. Ends at the body's end, or early when the context aborts (the client went away, or the
 * lock's holder was asked to let go): what arrived until then is written, as the library's abort does.
 * Bytes past `maxBody` (possible only without Content-Length) end it with 413 ("Maximum size exceeded"),
 * the chunk that passes the limit not written, as the library's StreamLimiter does.
 */
function receive(
  req: IncomingMessage,
  file: string,
  offset: number,
  maxBody: number,
  context: DrainableContext,
  counter?: { inc(bytes: number): void },
): Promise<number> {
  return new Promise((resolve, reject) => {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let received = 0;
    let position = offset;
    let writing = false;
    let done = false;
    let idle: NodeJS.Timeout | undefined;
    /** A write failed: nothing more is written. */
    let failure: TusError | undefined;
    /** Bytes came past the limit: what came before is written, then this is the answer. */
    let refusal: TusError | undefined;
    const handle = open(file, 'r+');
    handle.catch(() => undefined); // its failure is answered when the first write awaits it

    const stop = (err?: TusError) => {
      if (done) return;
      done = true;
      refusal = err;
      clearTimeout(idle);
      req.pause(); // nothing more is read: the answer closes the connection unless the body ended
      req.off('data', onData);
      req.off('end', onEnd);
      context.signal.removeEventListener('abort', onAbort);
      next();
    };
    const next = (now = false) => {
      if (writing) return;
      if (pendingBytes > 0 && !failure && !done && !now && pendingBytes < WRITE_AT) {
        idle ??= setTimeout(() => {
          idle = undefined;
          next(true);
        }, IDLE_WRITE_MS);
        return;
      }
      if (pendingBytes > 0 && !failure) {
        clearTimeout(idle);
        idle = undefined;
        const bufs = pending;
        const n = pendingBytes;
        pending = [];
        pendingBytes = 0;
        writing = true;
        handle
          .then((fh) => writeAll(fh, bufs, position))
          .then(
            () => {
              position += n;
              counter?.inc(n);
              writing = false;
              if (!done && req.isPaused()) req.resume();
              next();
            },
            () => {
              writing = false;
              failure = ERRORS.FILE_WRITE_ERROR;
              if (done) next();
              else stop();
            },
          );
        return;
      }
      if (!done) return;
      handle
        .then((fh) => fh.close())
        .catch(() => undefined)
        .then(() => (failure || refusal ? reject(failure ?? refusal) : resolve(position)));
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBody) return stop(ERRORS.ERR_MAX_SIZE_EXCEEDED);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= PAUSE_ABOVE) req.pause();
      next();
    };
    const onEnd = () => stop();
    const onAbort = () => stop();
    req.on('data', onData);
    req.once('end', onEnd);
    context.signal.addEventListener('abort', onAbort, { once: true });
    if (req.readableEnded) stop();
  });
}

/** Writes all of `bufs` at `position` (a writev may write less than asked). */
async function writeAll(fh: import('node:fs/promises').FileHandle, bufs: Buffer[], position: number) {
  const rest = bufs;
  let at = position;
  while (rest.length) {
    const { bytesWritten } = await fh.writev(rest, at);
    at += bytesWritten;
    let skip = bytesWritten;
    while (rest.length && skip >= rest[0]!.length) skip -= rest.shift()!.length;
    if (skip > 0) rest[0] = rest[0]!.subarray(skip);
    if (bytesWritten === 0 && rest.length) throw new Error('writev wrote nothing');
  }
}

/** The upload id of a PATCH this path takes (a plain tus 1.0 PATCH of bytes on an upload URL), else undefined. */
function eligibleId(
  req: IncomingMessage,
  tusPath: string,
  fileId: Server['options']['getFileIdFromRequest'],
): string | undefined {
  const h = req.headers;
  if (req.method !== 'PATCH' || h['tus-resumable'] !== '1.0.0') return undefined;
  if (h['content-type'] !== 'application/offset+octet-stream') return undefined;
  const offset = h['upload-offset'];
  if (offset === undefined || String(Number(offset)) !== offset || !(Number(offset) >= 0)) return undefined;
  if (LIBRARY_HEADERS.some((name) => h[name] !== undefined)) return undefined;
  const url = req.url ?? '';
  if (!url.startsWith(`${tusPath}/`)) return undefined;
  const last = url.slice(tusPath.length + 1).replace(/\/$/, '');
  if (!URL_ID.test(last) || !fileId) return undefined;
  return fileId(undefined as never, last);
}

/**
 * The request as @tus/server's hooks see it: a web Request carrying the Node request (for the audit log);
 * undefined when one cannot be made of it (the library, which makes its own, then answers).
 */
function webRequest(req: IncomingMessage, res: ServerResponse): Request | undefined {
  try {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`).href;
    return Object.assign(new Request(url, { method: 'PATCH', headers }), { runtime: { node: { req, res } } });
  } catch {
    return undefined;
  }
}

/** The headers @tus/server's Server.handler puts on every answer (Tus-Resumable, CORS). */
function baseHeaders(server: Server, req: IncomingMessage): Record<string, string> {
  const { allowedOrigins, exposedHeaders, allowedCredentials } = server.options;
  const out: Record<string, string> = { 'Tus-Resumable': '1.0.0' };
  const origin = req.headers.origin;
  let allow: string | null;
  if (typeof allowedOrigins === 'function') allow = origin && allowedOrigins(origin) ? origin : null;
  else if (!allowedOrigins) allow = '*';
  else if (!origin) allow = allowedOrigins[0] ?? null;
  else allow = allowedOrigins.includes(origin) ? origin : (allowedOrigins[0] ?? null);
  if (allow) out['Access-Control-Allow-Origin'] = allow;
  // Joined as @tus/server joins them (its list, then the extra ones comma-separated).
  out['Access-Control-Expose-Headers'] = exposedHeaders?.length
    ? [...HEADERS, exposedHeaders].join(', ')
    : EXPOSED_HEADERS;
  if (allowedCredentials === true) out['Access-Control-Allow-Credentials'] = 'true';
  return out;
}

/** Server.handler's onError: the error's status and body, or what onResponseError maps it to. */
async function errorAnswer(server: Server, web: Request, err: TusError) {
  let status = err?.status_code || ERRORS.UNKNOWN_ERROR.status_code;
  let body = err?.body || `${ERRORS.UNKNOWN_ERROR.body}${err?.message || ''}\n`;
  const mapped = await server.options.onResponseError?.(web, err as Error);
  if (mapped) ({ status_code: status, body } = mapped);
  return { status, body };
}

interface DrainableContext {
  signal: AbortSignal;
  /** Stops the request now. */
  abort(): void;
  /** Stops it after the drain time (the lock's holder was asked to let go). */
  cancel(): void;
}

/** @tus/server's request context (Server.createContext). */
function drainableContext(drainMs: number): DrainableContext {
  const now = new AbortController();
  let cancelled = false;
  return {
    signal: now.signal,
    abort: () => {
      if (!now.signal.aborted) now.abort(ERRORS.ABORTED);
    },
    cancel: () => {
      if (cancelled) return;
      cancelled = true;
      setTimeout(() => {
        if (!now.signal.aborted) now.abort(ERRORS.ABORTED);
      }, drainMs).unref();
    },
  };
}
