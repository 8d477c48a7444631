import { isStorageError, type ObjectStore } from '@vodcloud/storage';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from '../../http/problem';

export interface SendOptions {
  contentType?: string;
  cacheControl: string;
  /** Extra response headers (e.g. Content-Disposition). */
  headers?: Record<string, string>;
}

type Range = { start: number; end: number } | 'unsatisfiable' | null;

/** One byte range of RFC 9110 (first-last, first-, -suffix); multiple ranges are answered with the whole object. */
export function parseRange(header: string | undefined, size: number): Range {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return header.includes(',') ? null : 'unsatisfiable';
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/**
 * Serves a stored object with HEAD, Range (206/416, If-Range), ETag/Last-Modified validators (304) and
 * the given caching policy, streaming from storage without buffering.
 */
export async function sendObject(
  req: FastifyRequest,
  reply: FastifyReply,
  storage: ObjectStore,
  key: string,
  opts: SendOptions,
) {
  /** Validators, caching and type of the object; returns the quoted etag and Last-Modified. */
  const describe = (meta: { etag: string; lastModified: Date; contentType: string }) => {
    const etag = `"${meta.etag.replace(/"/g, '')}"`;
    const lastModified = meta.lastModified.toUTCString();
    reply
      .header('etag', etag)
      .header('last-modified', lastModified)
      .header('cache-control', opts.cacheControl)
      .header('accept-ranges', 'bytes')
      .header('content-type', opts.contentType ?? meta.contentType);
    for (const [k, v] of Object.entries(opts.headers ?? {})) reply.header(k, v);
    return { etag, lastModified };
  };
  // The common case (a plain GET, no range, no validators) opens the object once: the open gives size,
  // etag and mtime along with the stream.
  const h = req.headers;
  if (req.method === 'GET' && !h.range && !h['if-none-match'] && !h['if-modified-since']) {
    let obj: Awaited<ReturnType<ObjectStore['get']>>;
    try {
      obj = await storage.get(key);
    } catch (err) {
      if (isStorageError(err, 'not_found')) return sendProblem(reply, 'not_found', 'Not found');
      throw err;
    }
    describe(obj);
    return reply.header('content-length', String(obj.size)).send(obj.body);
  }
  const head = await storage.head(key);
  if (!head) return sendProblem(reply, 'not_found', 'Not found');
  const { etag, lastModified } = describe(head);

  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  const matches = inm
    ?.split(',')
    .some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*');
  if (matches || (!inm && ims && new Date(ims) >= new Date(lastModified))) {
    return reply.code(304).send();
  }
  let range = parseRange(req.headers.range, head.size);
  const ifRange = req.headers['if-range'];
  if (range && ifRange && ifRange !== etag && ifRange !== lastModified) range = null; // changed: send it all
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${head.size}`);
    return sendProblem(
      reply,
      'range_not_satisfiable',
      `The range is outside the object (${head.size} bytes)`,
    );
  }
  if (req.method === 'HEAD') {
    reply.header('content-length', String(range ? range.end - range.start + 1 : head.size));
    if (range) reply.header('content-range', `bytes ${range.start}-${range.end}/${head.size}`);
    return reply.code(range ? 206 : 200).send();
  }
  try {
    const obj = await storage.get(key, range ? { range } : {});
    reply.header('content-length', String(obj.size));
    if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${head.size}`);
    return reply.send(obj.body);
  } catch (err) {
    if (isStorageError(err, 'not_found')) return sendProblem(reply, 'not_found', 'Not found');
    throw err;
  }
}
