import { Readable } from 'node:stream';
import type { ByteRange, CompletedPart, ObjectBody } from './types';
import { StorageError } from './types';

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_NUMBER = 10_000;
export const MAX_LIST_LIMIT = 1000;

export function isReadable(body: unknown): body is Readable {
  return body instanceof Readable || (typeof body === 'object' && body !== null && 'pipe' in body);
}

/** Buffer-like bodies as a Buffer; streams stay streams. */
export function bodyToBufferOrStream(body: ObjectBody): Buffer | Readable {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (isReadable(body)) return body;
  throw new StorageError('invalid_argument', 'body must be a Readable, Buffer, Uint8Array or string');
}

export function toReadable(body: ObjectBody): Readable {
  const b = bodyToBufferOrStream(body);
  return Buffer.isBuffer(b) ? Readable.from([b]) : b;
}

export function checkContentLength(contentLength: number | undefined): void {
  if (contentLength !== undefined && (!Number.isSafeInteger(contentLength) || contentLength < 0)) {
    throw new StorageError(
      'invalid_argument',
      `contentLength must be a non-negative integer, got ${contentLength}`,
    );
  }
}

export function checkPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new StorageError(
      'invalid_argument',
      `part number must be 1..${MAX_PART_NUMBER}, got ${partNumber}`,
    );
  }
}

export function checkListLimit(limit: number | undefined): number {
  if (limit === undefined) return MAX_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new StorageError('invalid_argument', `list limit must be 1..${MAX_LIST_LIMIT}, got ${limit}`);
  }
  return limit;
}

/** Checks the parts list of completeMultipart: non-empty, part numbers valid and strictly ascending. */
export function checkCompletedParts(parts: CompletedPart[]): void {
  if (!Array.isArray(parts) || parts.length === 0) {
    throw new StorageError('invalid_argument', 'completeMultipart needs at least one part');
  }
  let previous = 0;
  for (const part of parts) {
    checkPartNumber(part.partNumber);
    if (part.partNumber <= previous) {
      throw new StorageError(
        'invalid_argument',
        'parts must be listed in strictly ascending part number order',
      );
    }
    previous = part.partNumber;
  }
}

/** Validates a requested range against nothing but itself (the object size is checked by the adapter). */
export function checkRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new StorageError('invalid_range', `range start must be a non-negative integer, got ${start}`);
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new StorageError('invalid_range', `range end must be an integer >= start, got ${start}-${end}`);
  }
}

/** S3 ETags come quoted; the port hands them out bare. */
export function normalizeEtag(etag: string | undefined | null): string {
  return (etag ?? '').replace(/^W\//, '').replace(/^"+|"+$/g, '');
}
