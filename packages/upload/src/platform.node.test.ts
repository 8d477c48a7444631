import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { fileReader, READ_BYTES, readBytesFor } from './platform.node';

const dir = mkdtempSync(path.join(tmpdir(), 'vod-upload-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A slice's bytes, and the size of each piece the stream gave. */
async function drain(stream: Readable): Promise<{ bytes: Buffer; pieces: number[] }> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return { bytes: Buffer.concat(parts), pieces: parts.map((p) => p.length) };
}

describe('the Node file reader (tus fileReader)', () => {
  const size = 2 * READ_BYTES + 12_345;
  const data = randomBytes(size);
  const file = path.join(dir, 'f.bin');
  writeFileSync(file, data);

  it('reads a path-backed file by exact ranges, in pieces of READ_BYTES', async () => {
    const source = await fileReader!.openFile(createReadStream(file), Number.POSITIVE_INFINITY);
    expect(source.size).toBe(size);
    const ranges: [number, number][] = [
      [0, READ_BYTES + 7],
      [READ_BYTES + 7, size - 1],
      [size - 1, size + 100], // past the end: cut at the size, the last slice
    ];
    for (const [start, end] of ranges) {
      const { value, done } = await source.slice(start, end);
      expect(value.size).toBe(Math.min(end, size) - start);
      const { bytes, pieces } = await drain(value);
      expect(bytes.equals(data.subarray(start, Math.min(end, size)))).toBe(true);
      expect(Math.max(...pieces)).toBeLessThanOrEqual(READ_BYTES);
      expect(done).toBe(end >= size);
    }
    if (size > READ_BYTES) {
      const { value } = await source.slice(0, size);
      const { pieces } = await drain(value);
      expect(pieces[0]).toBe(READ_BYTES); // not fs's 64 KiB
    }
    source.close();
  });

  it('keeps the range of a ReadStream opened with start and end', async () => {
    const given = createReadStream(file, { start: 1000, end: 1000 + READ_BYTES }); // inclusive end
    const source = await fileReader!.openFile(given, 4096);
    expect(source.size).toBe(READ_BYTES + 1);
    const { value, done } = await source.slice(10, 20);
    expect((await drain(value)).bytes.equals(data.subarray(1010, 1020))).toBe(true);
    expect(done).toBe(false);
    source.close();
    expect(given.destroyed).toBe(true);
  });

  it('reads a sixteenth of a small chunk at a time (progress moves in small steps)', async () => {
    expect(readBytesFor(Number.POSITIVE_INFINITY)).toBe(READ_BYTES);
    expect(readBytesFor(50 * 1024 * 1024)).toBe(2 * 1024 * 1024);
    expect(readBytesFor(2 * 1024 * 1024)).toBe(128 * 1024);
    expect(readBytesFor(100)).toBe(64 * 1024);
    const source = await fileReader!.openFile(createReadStream(file), 2 * 1024 * 1024);
    const { value } = await source.slice(0, 2 * 1024 * 1024);
    const { pieces } = await drain(value);
    expect(pieces).toEqual(Array(16).fill(128 * 1024));
    source.close();
  });

  it('leaves Buffers to tus-js-client’s own reader', async () => {
    const buf = randomBytes(1000);
    const source = await fileReader!.openFile(buf, 100);
    expect(source.size).toBe(1000);
    const { value } = await source.slice(100, 200);
    expect(Buffer.from(value).equals(buf.subarray(100, 200))).toBe(true);
  });
});
