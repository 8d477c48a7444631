import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileObjectStoreOptions } from './file-store';
import { FileObjectStore } from './file-store';
import type { S3ObjectStoreOptions } from './s3-store';
import type { ObjectStore } from './types';

export interface CreateObjectStoreOptions {
  /** File adapter: base URL of the `/_storage/` route, for presigned URLs. */
  publicBaseUrl?: string;
  /** File adapter: HMAC secret for presigned URLs. */
  signingSecret?: string;
  /** Where credentials and defaults are read from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Base for `file:./relative` URLs (default process.cwd()). */
  cwd?: string;
  /** Extra options passed to the adapter. */
  file?: Partial<FileObjectStoreOptions>;
  s3?: Partial<S3ObjectStoreOptions>;
}

const SETTING = 'VOD_STORAGE_URL';
const EXAMPLES =
  'file:///var/lib/vodcloud/objects, file:./data/objects or s3://bucket?endpoint=http://127.0.0.1:7480';

function fail(url: string, why: string): never {
  throw new Error(`${SETTING} is invalid (${JSON.stringify(url)}): ${why}. Expected e.g. ${EXAMPLES}`);
}

function parseBool(url: string, name: string, value: string | null, fallback: boolean): boolean {
  if (value === null) return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return fail(url, `${name} must be true or false, got ${JSON.stringify(value)}`);
}

/**
 * Builds the store named by a storage URL (the VOD_STORAGE_URL setting):
 * - `file:///abs/path` or `file:./relative/path` (relative to `cwd`)
 * - `s3://bucket?endpoint=http://host:port&region=us-east-1&forcePathStyle=true`, credentials from
 *   VOD_S3_ACCESS_KEY_ID / VOD_S3_SECRET_ACCESS_KEY, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
 *   (else the SDK's default chain).
 */
export async function createObjectStore(
  url: string,
  opts: CreateObjectStoreOptions = {},
): Promise<ObjectStore> {
  if (typeof url !== 'string' || url.trim() === '') fail(String(url), 'it is empty');
  const env = opts.env ?? process.env;

  if (url.startsWith('file:')) {
    let root: string;
    if (url.startsWith('file://')) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return fail(url, 'it is not a valid URL');
      }
      if (parsed.host !== '')
        fail(url, 'file URLs need an absolute path (file:///abs/path) or file:./relative');
      if (parsed.search || parsed.hash) fail(url, 'file URLs take no query or fragment');
      root = fileURLToPath(parsed);
    } else {
      const rest = decodeURIComponent(url.slice('file:'.length));
      if (rest === '' || rest.includes('?') || rest.includes('#')) fail(url, 'expected file:./relative/path');
      root = isAbsolute(rest) ? rest : resolve(opts.cwd ?? process.cwd(), rest);
    }
    if (root === '/' || root === '') fail(url, 'refusing to use the file system root as the store');
    return new FileObjectStore({
      ...opts.file,
      root,
      publicBaseUrl: opts.publicBaseUrl ?? opts.file?.publicBaseUrl,
      signingSecret: opts.signingSecret ?? opts.file?.signingSecret,
    });
  }

  if (url.startsWith('s3://')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return fail(url, 'it is not a valid URL');
    }
    const bucket = parsed.hostname;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      fail(url, `${JSON.stringify(bucket)} is not a bucket name`);
    if (parsed.pathname !== '' && parsed.pathname !== '/')
      fail(url, 'key prefixes in the URL are not supported');
    if (parsed.username || parsed.password) {
      fail(url, 'put credentials in VOD_S3_ACCESS_KEY_ID / VOD_S3_SECRET_ACCESS_KEY, not in the URL');
    }
    const q = parsed.searchParams;
    const known = new Set(['endpoint', 'region', 'forcePathStyle']);
    for (const name of q.keys()) if (!known.has(name)) fail(url, `unknown parameter ${JSON.stringify(name)}`);
    const endpoint = q.get('endpoint') ?? undefined;
    if (endpoint !== undefined) {
      let ep: URL;
      try {
        ep = new URL(endpoint);
      } catch {
        return fail(url, `endpoint ${JSON.stringify(endpoint)} is not a URL`);
      }
      if (ep.protocol !== 'http:' && ep.protocol !== 'https:')
        fail(url, 'endpoint must be http:// or https://');
    }
    const accessKeyId = env.VOD_S3_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.VOD_S3_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY;
    if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
      fail(url, 'set both VOD_S3_ACCESS_KEY_ID and VOD_S3_SECRET_ACCESS_KEY (or neither)');
    }
    const { S3ObjectStore } = await import('./s3-store');
    return new S3ObjectStore({
      ...opts.s3,
      bucket,
      endpoint,
      region: q.get('region') ?? opts.s3?.region ?? env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: parseBool(url, 'forcePathStyle', q.get('forcePathStyle'), true),
      credentials:
        accessKeyId && secretAccessKey
          ? { accessKeyId, secretAccessKey }
          : (opts.s3?.credentials ?? undefined),
    });
  }

  return fail(url, 'the scheme must be file: or s3:');
}
