import { AppError } from '../lib/errors';
import { ID_PATTERN } from '../lib/ids';

/** Cursors are opaque to clients: base64url of "v1:<last id>". Ids sort by creation time, newest first. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(`v1:${lastId}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const text = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const id = text.startsWith('v1:') ? text.slice(3) : '';
  if (!ID_PATTERN.test(id)) {
    throw new AppError('validation_failed', 'The cursor is not valid; use nextCursor from a previous page', {
      errors: [{ path: 'query.cursor', message: 'invalid cursor' }],
    });
  }
  return id;
}

/** Given rows fetched with limit+1, returns the page and the cursor for the next. */
export function page<T extends { id: string }>(
  rows: T[],
  limit: number,
): { rows: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { rows, nextCursor: null };
  const pageRows = rows.slice(0, limit);
  return { rows: pageRows, nextCursor: encodeCursor(pageRows[pageRows.length - 1]!.id) };
}
