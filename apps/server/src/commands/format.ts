// Human output of the commands: tables on a terminal, tab-separated lines in a pipe, durations.
// Written here rather than taken from a table or spinner package: a few lines each, and the same
// single-line redraw `vodcloud upload` already uses, with no dependency added to the image.
import { InvalidArgumentError } from 'commander';

/** "10m", "90s", "1h30m", "1500ms", "45" (seconds) → milliseconds. */
export function parseDuration(v: string): number {
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  let total = 0;
  let rest = s;
  for (;;) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) break;
    total += Number(m[1]) * unit[m[2] as keyof typeof unit];
    rest = rest.slice(m[0].length);
  }
  if (rest || s === '' || total <= 0)
    throw new InvalidArgumentError('must be a duration, e.g. 10m, 90s, 1h30m or a number of seconds');
  return Math.round(total);
}

/** Seconds → "1:05", "1:02:03"; null → "-". */
export function formatSeconds(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '-';
  const t = Math.round(sec);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Milliseconds → "850ms", "12s", "3m05s", "2h10m". */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "2026-12-06T07:52:41.123Z" → "2026-12-06 07:52Z". */
export const shortTime = (iso: string | null | undefined) =>
  iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z` : '-';

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * Rows as an aligned table with a header when `tty`, else as tab-separated lines without one (for cut,
 * awk and `while read`). Cells are cleaned of tabs and line breaks either way.
 */
export function table(
  header: string[],
  rows: string[][],
  tty: boolean,
  maxWidth: Record<number, number> = {},
): string {
  const clean = rows.map((r) => r.map((c) => c.replace(/[\t\r\n]+/g, ' ')));
  if (!tty) return clean.map((r) => `${r.join('\t')}\n`).join('');
  const shown = clean.map((r) => r.map((c, i) => (maxWidth[i] ? clip(c, maxWidth[i]) : c)));
  const widths = header.map((h, i) => Math.max(h.length, ...shown.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: string[]) =>
    `${r
      .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length)))
      .join('  ')
      .trimEnd()}\n`;
  return line(header) + shown.map(line).join('');
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** One line on stderr redrawn in place (a terminal), with a spinner; `done` ends the line. */
export function statusLine(): { draw(text: string): void; done(): void } {
  let frame = 0;
  let drawn = false;
  return {
    draw(text) {
      process.stderr.write(`\r\x1b[K${FRAMES[frame++ % FRAMES.length]} ${text}`);
      drawn = true;
    },
    done() {
      if (drawn) process.stderr.write('\n');
      drawn = false;
    },
  };
}

/** A bar of `width` cells, `fraction` (0..1) of them filled. */
export function bar(fraction: number, width = 20): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}
