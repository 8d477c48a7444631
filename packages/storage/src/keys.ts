import { StorageError } from './types';

export const MAX_KEY_BYTES = 1024;

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function reason(key: string): string | null {
  if (typeof key !== 'string') return 'key must be a string';
  if (key.length === 0) return 'key is empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `key is longer than ${MAX_KEY_BYTES} bytes`;
  if (CONTROL_CHARS.test(key)) return 'key contains a control character';
  if (key.includes('\\')) return 'key contains a backslash';
  if (key.startsWith('/')) return 'key starts with "/"';
  if (LONE_SURROGATE.test(key)) return 'key is not well-formed Unicode';
  for (const segment of key.split('/')) {
    if (segment === '') return 'key has an empty segment';
    if (segment === '.' || segment === '..') return `key has a "${segment}" segment`;
  }
  return null;
}

/**
 * Throws `StorageError('invalid_key')` unless `key` is a safe object key: non-empty, at most 1024 UTF-8 bytes,
 * no leading "/", no empty, "." or ".." segment, no backslash, no control character.
 */
export function validateKey(key: string): string {
  const why = reason(key);
  if (why)
    throw new StorageError('invalid_key', `invalid object key ${JSON.stringify(key)}: ${why}`, { key });
  return key;
}

export function isValidKey(key: string): boolean {
  return reason(key) === null;
}

/**
 * A listing/deletion prefix: "" (everything), or the start of a key. Every complete segment (before the last
 * "/") must be valid as in `validateKey`; the trailing partial segment only filters, so it may be anything
 * but a control character or backslash.
 */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new StorageError('invalid_key', 'prefix must be a string');
  if (prefix === '') return prefix;
  const bad = (why: string) =>
    new StorageError('invalid_key', `invalid prefix ${JSON.stringify(prefix)}: ${why}`, { key: prefix });
  if (Buffer.byteLength(prefix, 'utf8') > MAX_KEY_BYTES) throw bad(`longer than ${MAX_KEY_BYTES} bytes`);
  if (CONTROL_CHARS.test(prefix)) throw bad('contains a control character');
  if (prefix.includes('\\')) throw bad('contains a backslash');
  if (prefix.startsWith('/')) throw bad('starts with "/"');
  if (LONE_SURROGATE.test(prefix)) throw bad('is not well-formed Unicode');
  const segments = prefix.split('/');
  segments.pop();
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') throw bad(`has a "${segment}" segment`);
  }
  return prefix;
}

/** UTF-8 byte order, which is how S3 sorts keys. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
