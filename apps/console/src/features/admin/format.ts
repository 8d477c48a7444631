// Sizes, times and durations as the admin pages show them.

/** The quota input's unit: a decimal gigabyte, as disks and bills count. */
export const GB = 1_000_000_000;

/** Bytes to a GB figure for an input ("50", "1.5"), at most 3 decimals. */
export const bytesToGb = (bytes: number): string => String(Math.round((bytes / GB) * 1000) / 1000);

/** A GB figure typed by the user to whole bytes; undefined when it is not a number ≥ 0. */
export function gbToBytes(input: string): number | undefined {
  const v = Number(input.trim().replace(',', '.'));
  if (input.trim() === '' || !Number.isFinite(v) || v < 0) return undefined;
  return Math.round(v * GB);
}

export function formatBytes(bytes: number, lang: string): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${new Intl.NumberFormat(lang, { maximumFractionDigits: i === 0 ? 0 : 1 }).format(v)} ${units[i]}`;
}

export const dateTime = (lang: string) =>
  new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });

export const timeOnly = (lang: string) => new Intl.DateTimeFormat(lang, { timeStyle: 'medium' });

/** "3 d 4 h", "2 h 5 min", "45 s". */
export function formatUptime(sec: number): string {
  const d = Math.floor(sec / 86_400);
  const h = Math.floor((sec % 86_400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min`;
  return `${sec} s`;
}

export const number = (lang: string, digits = 0) =>
  new Intl.NumberFormat(lang, { maximumFractionDigits: digits });
