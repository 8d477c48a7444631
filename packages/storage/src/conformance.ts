/**
 * The ObjectStore conformance suite: one set of behaviours every adapter must show, run unchanged against
 * each of them (after tus-node-server's shared store tests). Usage, in a *.test.ts file:
 *
 *   runObjectStoreSuite('file', async () => ({ store, cleanup }));
 *
 * Not exported from the package entry (it imports vitest); import it by relative path.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareKeys } from './keys';
import type { ObjectStore, StorageErrorCode } from './types';
import { StorageError } from './types';

export interface StoreUnderTest {
  store: ObjectStore;
  /** Called once after the suite (delete the temp dir / bucket). */
  cleanup?: () => Promise<void>;
}

export interface SuiteOptions {
  /** Size of the flat-memory streaming test; 0 skips it. */
  largeObjectBytes?: number;
  /** Allowed RSS growth during the large-object test (default 150 MB). */
  largeObjectRssLimit?: number;
}

const MiB = 1024 * 1024;

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256Stream(stream: AsyncIterable<Buffer | Uint8Array | string>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('hex');
}

export async function readAll(stream: AsyncIterable<Buffer | Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * A generated stream of `bytes` bytes (1 MiB chunks, every chunk different) that hashes what it emits:
 * `digest()` gives the sha256 once it has ended. Memory stays flat whatever the size.
 */
export function generatedStream(bytes: number, chunkSize = MiB): { stream: Readable; digest: () => string } {
  const block = randomBytes(chunkSize);
  const hash = createHash('sha256');
  let sent = 0;
  let counter = 0;
  let result: string | null = null;
  const stream = new Readable({
    read() {
      if (sent >= bytes) {
        result = hash.digest('hex');
        this.push(null);
        return;
      }
      const n = Math.min(chunkSize, bytes - sent);
      const chunk = Buffer.allocUnsafe(n);
      block.copy(chunk, 0, 0, n);
      if (n >= 4) chunk.writeUInt32BE(counter >>> 0, 0);
      counter++;
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
  return {
    stream,
    digest: () => {
      if (result === null) throw new Error('generated stream has not ended');
      return result;
    },
  };
}

/** A stream that emits `chunks` with a pause before each one after the first. */
function slowStream(chunks: Buffer[], pauseMs: number): Readable {
  return Readable.from(
    (async function* () {
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0) await sleep(pauseMs);
        yield chunk;
      }
    })(),
  );
}

async function expectCode(promise: Promise<unknown>, code: StorageErrorCode): Promise<StorageError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected StorageError(${code})`).toBeInstanceOf(StorageError);
  expect((caught as StorageError).code).toBe(code);
  return caught as StorageError;
}

export const INVALID_KEYS = [
  '',
  '../x',
  '/abs',
  'a/../../b',
  'a\u0000b',
  'a//b',
  'a/./b',
  '.',
  'a/..',
  'a\\b',
  'trailing/',
  'tab\there',
  'del\u007f',
  'x'.repeat(1025),
];

export function runObjectStoreSuite(
  name: string,
  factory: () => Promise<StoreUnderTest>,
  options: SuiteOptions = {},
): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: ObjectStore;
    const run = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    let n = 0;
    /** A fresh key prefix per test, so tests never see each other's objects. */
    const scope = () => `${run}/${++n}`;

    beforeAll(async () => {
      sut = await factory();
      store = sut.store;
    });

    afterAll(async () => {
      if (!sut) return;
      try {
        await store.deletePrefix(`${run}/`);
        await store.close();
      } finally {
        await sut.cleanup?.();
      }
    });

    it('reports healthy', async () => {
      const h = await store.health();
      expect(h.ok, h.detail).toBe(true);
      expect(h.detail).toBeTypeOf('string');
    });

    it('round-trips a multi-MB stream of unknown length byte-exact, with etag, size and content type', async () => {
      const key = `${scope()}/video.mp4`;
      const bytes = 12 * MiB + 12345;
      const src = generatedStream(bytes, 256 * 1024);
      const put = await store.put(key, src.stream, { contentType: 'video/mp4' });
      expect(put.size).toBe(bytes);
      expect(put.etag).toMatch(/^[0-9a-f]{32}(-\d+)?$/);
      const got = await store.get(key);
      expect(got.size).toBe(bytes);
      expect(got.totalSize).toBe(bytes);
      expect(got.contentType).toBe('video/mp4');
      expect(got.etag).toBe(put.etag);
      expect(got.contentRange).toBeUndefined();
      expect(await sha256Stream(got.body)).toBe(src.digest());
    });

    it('puts Buffers, strings and streams of known length', async () => {
      const p = scope();
      const buf = randomBytes(70_000);
      const a = await store.put(`${p}/buf`, buf);
      expect(a).toEqual({ size: buf.length, etag: createHash('md5').update(buf).digest('hex') });
      const b = await store.put(`${p}/str`, 'héllo wörld', { contentType: 'text/plain; charset=utf-8' });
      expect(b.size).toBe(Buffer.byteLength('héllo wörld'));
      const c = await store.put(`${p}/stream`, Readable.from([buf.subarray(0, 1000), buf.subarray(1000)]), {
        contentLength: buf.length,
      });
      expect(c.etag).toBe(a.etag);

      expect(sha256(await readAll((await store.get(`${p}/buf`)).body))).toBe(sha256(buf));
      const str = await store.get(`${p}/str`);
      expect((await readAll(str.body)).toString('utf8')).toBe('héllo wörld');
      expect(str.contentType).toBe('text/plain; charset=utf-8');
      const stream = await store.get(`${p}/stream`);
      expect(stream.contentType).toBe('application/octet-stream');
      expect(sha256(await readAll(stream.body))).toBe(sha256(buf));
    });

    it('overwrites an existing key', async () => {
      const key = `${scope()}/k`;
      await store.put(key, 'first version');
      const second = await store.put(key, 'second');
      const head = await store.head(key);
      expect(head).toMatchObject({ size: 6, etag: second.etag });
      expect((await readAll((await store.get(key)).body)).toString()).toBe('second');
    });

    it('stores an empty object', async () => {
      const key = `${scope()}/empty`;
      const put = await store.put(key, Buffer.alloc(0));
      expect(put).toEqual({ size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e' });
      const got = await store.get(key);
      expect(got.size).toBe(0);
      expect((await readAll(got.body)).length).toBe(0);
      await expectCode(store.get(key, { range: { start: 0 } }), 'invalid_range');
    });

    it('serves byte ranges: start-end, open-ended, clamped end; start beyond the end is invalid_range', async () => {
      const key = `${scope()}/ranged`;
      const data = randomBytes(1000);
      await store.put(key, data, { contentType: 'application/x-test' });

      const mid = await store.get(key, { range: { start: 10, end: 19 } });
      expect(mid.size).toBe(10);
      expect(mid.totalSize).toBe(1000);
      expect(mid.contentRange).toBe('bytes 10-19/1000');
      expect(mid.contentType).toBe('application/x-test');
      expect((await readAll(mid.body)).equals(data.subarray(10, 20))).toBe(true);

      const first = await store.get(key, { range: { start: 0, end: 0 } });
      expect((await readAll(first.body)).equals(data.subarray(0, 1))).toBe(true);
      expect(first.contentRange).toBe('bytes 0-0/1000');

      const tail = await store.get(key, { range: { start: 990 } });
      expect(tail.size).toBe(10);
      expect(tail.contentRange).toBe('bytes 990-999/1000');
      expect((await readAll(tail.body)).equals(data.subarray(990))).toBe(true);

      const clamped = await store.get(key, { range: { start: 995, end: 5000 } });
      expect(clamped.size).toBe(5);
      expect(clamped.contentRange).toBe('bytes 995-999/1000');
      expect((await readAll(clamped.body)).equals(data.subarray(995))).toBe(true);

      await expectCode(store.get(key, { range: { start: 1000 } }), 'invalid_range');
      await expectCode(store.get(key, { range: { start: 5000, end: 6000 } }), 'invalid_range');
      await expectCode(store.get(key, { range: { start: 20, end: 10 } }), 'invalid_range');
      await expectCode(store.get(key, { range: { start: -1 } }), 'invalid_range');
    });

    it('heads existing objects and returns null for missing ones', async () => {
      const key = `${scope()}/h`;
      const before = Date.now();
      const put = await store.put(key, 'abc', { contentType: 'text/plain' });
      const head = await store.head(key);
      expect(head).not.toBeNull();
      expect(head!.size).toBe(3);
      expect(head!.etag).toBe(put.etag);
      expect(head!.contentType).toBe('text/plain');
      expect(head!.lastModified).toBeInstanceOf(Date);
      // S3 has second resolution; allow clock skew of a few seconds.
      expect(Math.abs(head!.lastModified.getTime() - before)).toBeLessThan(10_000);
      expect(await store.head(`${key}-missing`)).toBeNull();
    });

    it('answers not_found for a missing key (get, copy) and treats deleting it as done', async () => {
      const p = scope();
      const err = await expectCode(store.get(`${p}/nope`), 'not_found');
      expect(err.key).toBe(`${p}/nope`);
      await expectCode(store.get(`${p}/nope`, { range: { start: 0, end: 1 } }), 'not_found');
      await expectCode(store.copy(`${p}/nope`, `${p}/dst`), 'not_found');
      await expect(store.delete(`${p}/nope`)).resolves.toBeUndefined();
      expect(await store.head(`${p}/dst`)).toBeNull();
    });

    it('deletes an object', async () => {
      const key = `${scope()}/d`;
      await store.put(key, 'bye');
      await store.delete(key);
      expect(await store.head(key)).toBeNull();
      await expectCode(store.get(key), 'not_found');
    });

    it('deletes by prefix, and only by prefix', async () => {
      const p = scope();
      const inside = [`${p}/a/1`, `${p}/a/2`, `${p}/a/sub/3`];
      const outside = [`${p}/ab`, `${p}/b`, `${p}/a`];
      for (const k of [...inside, ...outside]) await store.put(k, k);
      expect(await store.deletePrefix(`${p}/a/`)).toBe(3);
      const left = (await store.list(`${p}/`)).items.map((i) => i.key);
      expect(left).toEqual([...outside].sort(compareKeys));
      expect(await store.deletePrefix(`${p}/a/`)).toBe(0);
      expect(await store.deletePrefix(`${p}/`)).toBe(3);
      expect((await store.list(`${p}/`)).items).toEqual([]);
    });

    it('deletes more than one batch by prefix', async () => {
      const p = scope();
      const count = 1005;
      const keys = Array.from({ length: count }, (_, i) => `${p}/many/${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, 'x')));
      }
      expect(await store.deletePrefix(`${p}/many/`)).toBe(count);
      expect((await store.list(`${p}/`)).items).toEqual([]);
    }, 120_000);

    it('lists in key order, paged by cursor without gaps or duplicates', async () => {
      const p = scope();
      const keys = ['k0', 'k1', 'k2', 'k3/x', 'k3', 'k4', 'x-1', 'x/1', 'x0', 'é', 'z'].map(
        (k) => `${p}/${k}`,
      );
      const sizes = new Map<string, number>();
      for (const [i, k] of keys.entries()) {
        const body = 'x'.repeat(i + 1);
        sizes.set(k, body.length);
        await store.put(k, body);
      }
      await store.put(`${scope()}/other`, 'not in the prefix');
      const expected = [...keys].sort(compareKeys);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await store.list(`${p}/`, { cursor, limit: 3 });
        expect(page.items.length).toBeLessThanOrEqual(3);
        for (const item of page.items) {
          expect(item.size).toBe(sizes.get(item.key));
          expect(item.etag).toMatch(/^[0-9a-f]{32}$/);
          expect(item.lastModified).toBeInstanceOf(Date);
        }
        seen.push(...page.items.map((i) => i.key));
        cursor = page.nextCursor;
        pages++;
        expect(pages).toBeLessThan(20);
      } while (cursor);
      expect(seen).toEqual(expected);
      expect(new Set(seen).size).toBe(seen.length);
      expect(pages).toBeGreaterThanOrEqual(4);

      const all = await store.list(`${p}/`);
      expect(all.items.map((i) => i.key)).toEqual(expected);
      expect(all.nextCursor).toBeNull();

      // a partial last segment filters too
      expect((await store.list(`${p}/x`)).items.map((i) => i.key)).toEqual(
        [`${p}/x-1`, `${p}/x/1`, `${p}/x0`].sort(compareKeys),
      );
      expect(await store.list(`${p}/nothing-here/`)).toEqual({ items: [], nextCursor: null });
    });

    it('pages 7 objects by 3 exactly', async () => {
      const p = scope();
      const keys = Array.from({ length: 7 }, (_, i) => `${p}/obj-${i}`);
      await Promise.all(keys.map((k) => store.put(k, k)));
      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const page = await store.list(`${p}/`, { cursor, limit: 3 });
        pages.push(page.items.map((i) => i.key));
        cursor = page.nextCursor;
      } while (cursor && pages.length < 10);
      // S3 may end with an empty page after a truncated one; drop it for the shape check
      const nonEmpty = pages.filter((pg) => pg.length > 0);
      expect(nonEmpty.map((pg) => pg.length)).toEqual([3, 3, 1]);
      expect(nonEmpty.flat()).toEqual(keys);
    });

    it('copies an object with its bytes and content type', async () => {
      const p = scope();
      const data = randomBytes(300_000);
      const put = await store.put(`${p}/src`, data, { contentType: 'image/png' });
      const copied = await store.copy(`${p}/src`, `${p}/deep/dst`);
      expect(copied.size).toBe(data.length);
      expect(copied.etag).toBe(put.etag);
      const got = await store.get(`${p}/deep/dst`);
      expect(got.contentType).toBe('image/png');
      expect(sha256(await readAll(got.body))).toBe(sha256(data));
      // the source is untouched and independent
      await store.delete(`${p}/src`);
      expect(await store.head(`${p}/deep/dst`)).toMatchObject({ size: data.length });
    });

    it('does a 3-part multipart upload with listParts, byte-exact', async () => {
      const key = `${scope()}/multi.bin`;
      const part1 = randomBytes(5 * MiB);
      const part2 = randomBytes(5 * MiB + 17);
      const part3 = randomBytes(1 * MiB + 3);
      const uploadId = await store.createMultipart(key, { contentType: 'video/mp2t' });
      expect(uploadId).toBeTypeOf('string');
      // out of order, and part 2 as a stream of unknown length
      const r3 = await store.uploadPart(key, uploadId, 3, part3);
      const r1 = await store.uploadPart(key, uploadId, 1, part1, part1.length);
      const r2 = await store.uploadPart(
        key,
        uploadId,
        2,
        Readable.from([part2.subarray(0, 1_000_000), part2.subarray(1_000_000)]),
      );
      for (const r of [r1, r2, r3]) expect(r.etag).toMatch(/^[0-9a-f]{32}$/);
      expect(r1.etag).toBe(createHash('md5').update(part1).digest('hex'));

      expect(await store.head(key)).toBeNull(); // not visible before completion
      const parts = await store.listParts(key, uploadId);
      expect(parts).toEqual([
        { partNumber: 1, etag: r1.etag, size: part1.length },
        { partNumber: 2, etag: r2.etag, size: part2.length },
        { partNumber: 3, etag: r3.etag, size: part3.length },
      ]);

      const done = await store.completeMultipart(key, uploadId, [
        { partNumber: 1, etag: r1.etag },
        { partNumber: 2, etag: r2.etag },
        { partNumber: 3, etag: r3.etag },
      ]);
      const total = part1.length + part2.length + part3.length;
      expect(done.size).toBe(total);
      expect(done.etag).toMatch(/^[0-9a-f]{32}-3$/);
      const head = await store.head(key);
      expect(head).toMatchObject({ size: total, etag: done.etag, contentType: 'video/mp2t' });
      const got = await store.get(key);
      expect(await sha256Stream(got.body)).toBe(sha256(Buffer.concat([part1, part2, part3])));
      const ranged = await store.get(key, { range: { start: part1.length - 2, end: part1.length + 1 } });
      expect(
        (await readAll(ranged.body)).equals(Buffer.concat([part1.subarray(-2), part2.subarray(0, 2)])),
      ).toBe(true);
      await expectCode(store.listParts(key, uploadId), 'no_such_upload');
    });

    it('re-uploading a part replaces it', async () => {
      const key = `${scope()}/redo`;
      const uploadId = await store.createMultipart(key);
      await store.uploadPart(key, uploadId, 1, 'first try');
      const again = await store.uploadPart(key, uploadId, 1, 'second');
      expect(await store.listParts(key, uploadId)).toEqual([{ partNumber: 1, etag: again.etag, size: 6 }]);
      const done = await store.completeMultipart(key, uploadId, [{ partNumber: 1, etag: again.etag }]);
      expect(done.size).toBe(6);
      expect((await readAll((await store.get(key)).body)).toString()).toBe('second');
    });

    it('rejects completing with a too-small middle part, a wrong etag or bad part numbers', async () => {
      const key = `${scope()}/small`;
      const uploadId = await store.createMultipart(key);
      const a = await store.uploadPart(key, uploadId, 1, randomBytes(1024));
      const b = await store.uploadPart(key, uploadId, 2, randomBytes(1024));
      await expectCode(
        store.completeMultipart(key, uploadId, [
          { partNumber: 1, etag: a.etag },
          { partNumber: 2, etag: b.etag },
        ]),
        'invalid_argument',
      );
      await expectCode(
        store.completeMultipart(key, uploadId, [{ partNumber: 1, etag: 'ffffffffffffffffffffffffffffffff' }]),
        'invalid_argument',
      );
      await expectCode(store.completeMultipart(key, uploadId, []), 'invalid_argument');
      await expectCode(store.uploadPart(key, uploadId, 0, 'x'), 'invalid_argument');
      await expectCode(store.uploadPart(key, uploadId, 10_001, 'x'), 'invalid_argument');
      expect(await store.head(key)).toBeNull();
      await store.abortMultipart(key, uploadId);
    });

    it('aborts a multipart upload: afterwards the upload is no_such_upload and nothing was written', async () => {
      const key = `${scope()}/aborted`;
      const uploadId = await store.createMultipart(key);
      const part = await store.uploadPart(key, uploadId, 1, randomBytes(2048));
      await store.abortMultipart(key, uploadId);
      await expectCode(store.listParts(key, uploadId), 'no_such_upload');
      await expectCode(store.uploadPart(key, uploadId, 2, 'late'), 'no_such_upload');
      await expectCode(
        store.completeMultipart(key, uploadId, [{ partNumber: 1, etag: part.etag }]),
        'no_such_upload',
      );
      expect(await store.head(key)).toBeNull();
    });

    it('answers no_such_upload for an unknown upload id', async () => {
      const key = `${scope()}/unknown-upload`;
      const bogus = 'ffffffffffffffffffffffffffffffff';
      await expectCode(store.listParts(key, bogus), 'no_such_upload');
      await expectCode(store.uploadPart(key, bogus, 1, 'x'), 'no_such_upload');
      await expectCode(store.abortMultipart(key, bogus), 'no_such_upload');
    });

    it('presigned GET works with plain fetch (and response content type), a tampered one does not', async () => {
      const key = `${scope()}/signed get/ä.bin`;
      const data = randomBytes(4096);
      await store.put(key, data, { contentType: 'application/x-original' });
      const url = await store.presignGet(key, { expiresIn: 60 });
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);

      const asText = await store.presignGet(key, { expiresIn: 60, responseContentType: 'text/plain' });
      const res2 = await fetch(asText);
      expect(res2.status).toBe(200);
      expect(res2.headers.get('content-type')).toBe('text/plain');
      await res2.arrayBuffer();

      const other = `${scope()}/other`;
      await store.put(other, 'secret');
      const tampered = url.replace(encodeURIComponent('ä.bin'), 'other');
      expect(tampered).not.toBe(url);
      const res3 = await fetch(tampered);
      expect(res3.status).toBeGreaterThanOrEqual(400);
      expect(res3.status).toBeLessThan(500);
      await res3.arrayBuffer();
    });

    it('presigned PUT works with plain fetch and keeps the signed content type', async () => {
      const key = `${scope()}/upload/file.ts`;
      const data = randomBytes(100_000);
      const url = await store.presignPut(key, { expiresIn: 60, contentType: 'video/mp2t' });
      const res = await fetch(url, { method: 'PUT', body: data, headers: { 'content-type': 'video/mp2t' } });
      expect(res.status, await res.text()).toBe(200);
      const got = await store.get(key);
      expect(got.contentType).toBe('video/mp2t');
      expect(sha256(await readAll(got.body))).toBe(sha256(data));

      // a different content type than signed is refused
      const key2 = `${scope()}/upload/other.ts`;
      const url2 = await store.presignPut(key2, { expiresIn: 60, contentType: 'video/mp2t' });
      const res2 = await fetch(url2, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/html' } });
      expect(res2.status).toBe(403);
      await res2.arrayBuffer();
      expect(await store.head(key2)).toBeNull();

      // a GET URL cannot be used to PUT
      const getUrl = await store.presignGet(key, { expiresIn: 60 });
      const res3 = await fetch(getUrl, { method: 'PUT', body: 'overwrite' });
      expect(res3.status).toBe(403);
      await res3.arrayBuffer();
      expect((await store.head(key))?.size).toBe(data.length);
    });

    it('expired presigned URLs are refused', async () => {
      const key = `${scope()}/expiring`;
      await store.put(key, 'soon gone');
      const url = await store.presignGet(key, { expiresIn: 1 });
      await sleep(2100);
      const res = await fetch(url);
      expect(res.status).toBe(403);
      await res.arrayBuffer();
    });

    it('rejects invalid keys everywhere with invalid_key', async () => {
      const ok = `${scope()}/fine`;
      await store.put(ok, 'fine');
      for (const bad of INVALID_KEYS) {
        await expectCode(store.put(bad, 'x'), 'invalid_key');
        await expectCode(store.get(bad), 'invalid_key');
        await expectCode(store.head(bad), 'invalid_key');
        await expectCode(store.delete(bad), 'invalid_key');
        await expectCode(store.copy(ok, bad), 'invalid_key');
        await expectCode(store.copy(bad, ok), 'invalid_key');
        await expectCode(store.createMultipart(bad), 'invalid_key');
        await expectCode(store.presignGet(bad, { expiresIn: 60 }), 'invalid_key');
        await expectCode(store.presignPut(bad, { expiresIn: 60 }), 'invalid_key');
      }
      for (const bad of ['/abs', '../x', 'a//b/', 'a\u0000']) {
        await expectCode(store.list(bad), 'invalid_key');
        await expectCode(store.deletePrefix(bad), 'invalid_key');
      }
      expect((await store.head(ok))?.size).toBe(4);
    });

    it('accepts unusual but valid keys', async () => {
      const p = scope();
      const keys = [
        `${p}/spaces and %25 percent`,
        `${p}/.hidden`,
        `${p}/ünïcødé/日本`,
        `${p}/a..b`,
        `${p}/x%o`,
      ];
      for (const k of keys) await store.put(k, k);
      for (const k of keys) expect((await readAll((await store.get(k)).body)).toString()).toBe(k);
      expect((await store.list(`${p}/`)).items.map((i) => i.key)).toEqual([...keys].sort(compareKeys));
    });

    it('publishes atomically: during a slow put readers see not_found or the old version, never a partial', async () => {
      const p = scope();
      const fresh = `${p}/fresh`;
      const existing = `${p}/existing`;
      const old = randomBytes(3000);
      const oldPut = await store.put(existing, old);
      const chunks = Array.from({ length: 4 }, () => randomBytes(256 * 1024));
      const whole = Buffer.concat(chunks);

      const pendingFresh = store.put(fresh, slowStream(chunks, 250));
      const pendingExisting = store.put(existing, slowStream(chunks, 250));
      let checks = 0;
      let settled = false;
      const both = Promise.all([pendingFresh, pendingExisting]).finally(() => {
        settled = true;
      });
      while (!settled && checks < 40) {
        await sleep(60);
        if (settled) break;
        const h = await store.head(fresh);
        if (h) expect(h.size).toBe(whole.length);
        const he = await store.head(existing);
        expect([old.length, whole.length]).toContain(he?.size);
        const got = await store.get(existing);
        const bytes = await readAll(got.body);
        expect(bytes.length).toBe(got.size);
        expect(bytes.equals(old) || bytes.equals(whole)).toBe(true);
        checks++;
      }
      expect(checks).toBeGreaterThan(3);
      const [a, b] = await both;
      expect(a.size).toBe(whole.length);
      expect(b.etag).not.toBe(oldPut.etag);
      expect(sha256(await readAll((await store.get(fresh)).body))).toBe(sha256(whole));
      expect(sha256(await readAll((await store.get(existing)).body))).toBe(sha256(whole));
    });

    it('a failing source stream publishes nothing', async () => {
      const key = `${scope()}/broken`;
      const broken = Readable.from(
        (async function* () {
          yield randomBytes(64 * 1024);
          await sleep(20);
          throw new Error('source broke');
        })(),
      );
      await expect(store.put(key, broken)).rejects.toThrow();
      expect(await store.head(key)).toBeNull();
    });

    const large = options.largeObjectBytes ?? 0;
    it.skipIf(large <= 0)(
      `streams a ${(large / 1024 ** 3).toFixed(2)} GiB object in and out in flat memory`,
      async () => {
        const key = `${scope()}/large.bin`;
        const limit = options.largeObjectRssLimit ?? 150 * 1e6;
        globalThis.gc?.();
        const baseline = process.memoryUsage().rss;
        let peak = baseline;
        const sampler = setInterval(() => {
          peak = Math.max(peak, process.memoryUsage().rss);
        }, 25);
        const t0 = performance.now();
        try {
          const src = generatedStream(large);
          const put = await store.put(key, src.stream, { contentType: 'application/octet-stream' });
          const tPut = performance.now();
          expect(put.size).toBe(large);
          const got = await store.get(key);
          expect(got.size).toBe(large);
          expect(await sha256Stream(got.body)).toBe(src.digest());
          const tGet = performance.now();
          console.log(
            `[${name}] large object ${(large / MiB).toFixed(0)} MiB: put ${((tPut - t0) / 1000).toFixed(1)} s, ` +
              `get+hash ${((tGet - tPut) / 1000).toFixed(1)} s, rss growth ${((peak - baseline) / 1e6).toFixed(0)} MB`,
          );
        } finally {
          clearInterval(sampler);
          await store.delete(key);
        }
        expect(peak - baseline).toBeLessThan(limit);
      },
      600_000,
    );
  });
}
