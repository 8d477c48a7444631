const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'SQLITE_BUSY',
  'SQLITE_CANTOPEN',
  '57P01', // admin_shutdown
  '57P02',
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/** True when an error means the database could not be reached (as opposed to a bad query). */
export function isConnectionError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && (CONNECTION_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  const msg = typeof e.message === 'string' ? e.message : '';
  if (
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Connection lost|connect ECONNREFUSED|Pool is closed|Client has encountered a connection error|database is locked|query read timeout|connection is in closed state/i.test(
      msg,
    )
  )
    return true;
  if (Array.isArray(e.errors)) return e.errors.some(isConnectionError); // AggregateError from dual-stack connects
  if (e.cause && e.cause !== err) return isConnectionError(e.cause);
  return false;
}

/**
 * True when a write was refused because the database is read-only: a MySQL/MariaDB replica (or a fenced old
 * primary) during a failover, a PostgreSQL hot standby. The caller may retry once a primary is writable again.
 */
export function isReadOnlyError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; errno?: unknown; message?: unknown; cause?: unknown };
  if (e.code === '25006' || e.code === 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION') return true;
  if (
    (e.code === 'ER_OPTION_PREVENTS_STATEMENT' || e.errno === 1290) &&
    /read-only|read_only/i.test(String(e.message))
  )
    return true;
  if (e.cause && e.cause !== err) return isReadOnlyError(e.cause);
  return false;
}

/** The database cannot take this now but will: unreachable, or read-only while a failover is under way. */
export function isUnavailableError(err: unknown): boolean {
  return isConnectionError(err) || isReadOnlyError(err);
}

/** True for a unique-constraint violation on any of the three engines. */
export function isUniqueViolation(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown };
  return (
    e.code === '23505' ||
    e.code === 'ER_DUP_ENTRY' ||
    e.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    (typeof e.message === 'string' && /UNIQUE constraint failed|Duplicate entry/i.test(e.message))
  );
}
