export const MiB = 1024 * 1024;

function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = sorted(xs);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank 95th percentile. */
export function p95(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)]!;
}

export function mibPerSec(bytes: number, ms: number): number {
  return bytes / MiB / (ms / 1000);
}

export const fmtMiB = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
export const fmtMB = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
export const fmtSec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
