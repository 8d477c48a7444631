import { constants } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../lib/errors';

/**
 * Where a recorder's file is. A recorder names a path on its own disk; the platform reads it only when it
 * lies under one of VOD_RECORDING_DIRS once every symlink is resolved (a `..`, a symlink pointing out, or
 * any other path → 400 and nothing read), or downloads it from the hook's fetchBaseUrl.
 */

const bad = (message: string) =>
  new AppError('validation_failed', message, { errors: [{ path: 'body.path', message }] });

/** The recorder's path, syntactically: absolute, no `..` segment, no NUL, bounded. */
export function checkRecorderPath(p: string): string {
  if (!p || p.length > 1000) throw bad('path must be 1 to 1000 characters');
  if (p.includes('\0')) throw bad('path must not contain NUL');
  if (!p.startsWith('/')) throw bad('path must be absolute');
  if (p.split('/').includes('..')) throw bad('path must not contain ".."');
  return path.posix.normalize(p);
}

const within = (dir: string, p: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/**
 * The file's real path when it is a regular file under one of `dirs` (both realpath'd: a symlink anywhere
 * in the path is followed first, then checked); else a 400. Missing file → 400 too (nothing to import).
 */
export async function resolveUnderDirs(p: string, dirs: readonly string[]): Promise<string> {
  const given = checkRecorderPath(p);
  if (dirs.length === 0)
    throw bad('no recording directory is configured (VOD_RECORDING_DIRS); give the hook a fetchBaseUrl');
  const roots = (await Promise.all(dirs.map((d) => realpath(d).catch(() => null)))).filter(
    (d): d is string => d !== null,
  );
  // Lexically first: a path outside every directory is refused without touching the file system.
  if (!dirs.some((d) => within(path.posix.normalize(d), given)) && !roots.some((d) => within(d, given)))
    throw bad('path is not under a recording directory (VOD_RECORDING_DIRS)');
  const real = await realpath(given).catch(() => null);
  if (!real) throw bad('path does not exist');
  if (!roots.some((d) => within(d, real))) throw bad('path resolves outside the recording directories');
  return real;
}

/**
 * Opens the file for reading without following a symlink at its last component (checked again after the
 * realpath check, so a swap between the check and the open is refused) and requires a regular file.
 */
export async function openRecording(real: string): Promise<{ fh: FileHandle; size: number }> {
  const fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err) => {
    throw bad(`path cannot be opened: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  });
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw bad('path is not a regular file');
  }
  return { fh, size: st.size };
}

/**
 * The URL of a recorder's file under the hook's fetchBaseUrl: the path below `recordDir` when the hook names
 * the recorder's directory (and the file is under it), else the file name alone; each segment URL-encoded.
 */
export function fetchUrlFor(fetchBaseUrl: string, recordDir: string | null, p: string): string {
  const given = checkRecorderPath(p);
  const dir = recordDir ? path.posix.normalize(recordDir) : null;
  const rel =
    dir && within(dir, given) && given !== dir
      ? given.slice(dir.length).replace(/^\/+/, '')
      : path.posix.basename(given);
  if (!rel) throw bad('path names no file');
  const base = fetchBaseUrl.endsWith('/') ? fetchBaseUrl : `${fetchBaseUrl}/`;
  return new URL(rel.split('/').map(encodeURIComponent).join('/'), base).toString();
}

/**
 * Where a callback's file is, decided when the callback arrives: the hook's fetchBaseUrl (the URL it maps to,
 * checked for form here and for its address when fetched), else a path under the recording directories. When
 * the directories exist on this node the realpath check runs here too, so a bad path is refused to the caller;
 * the node that reads the file checks again in any case (a node without the mount checks the form only).
 */
export async function checkOnReceipt(
  file: string,
  o: { fetchBaseUrl: string | null; recordDir: string | null; dirs: readonly string[] },
): Promise<{ kind: 'path'; path: string } | { kind: 'url'; url: string }> {
  if (o.fetchBaseUrl) return { kind: 'url', url: fetchUrlFor(o.fetchBaseUrl, o.recordDir, file) };
  const given = checkRecorderPath(file);
  const local = (await Promise.all(o.dirs.map((d) => realpath(d).catch(() => null)))).some(Boolean);
  if (local) return { kind: 'path', path: await resolveUnderDirs(given, o.dirs) };
  if (o.dirs.length === 0)
    throw bad('no recording directory is configured (VOD_RECORDING_DIRS); give the hook a fetchBaseUrl');
  if (!o.dirs.some((d) => within(path.posix.normalize(d), given)))
    throw bad('path is not under a recording directory (VOD_RECORDING_DIRS)');
  return { kind: 'path', path: given };
}
