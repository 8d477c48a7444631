export const nowIso = (): string => new Date().toISOString();

/** An instant (ms since the epoch) as an ISO string. */
export const isoAt = (ms: number): string => new Date(ms).toISOString();
