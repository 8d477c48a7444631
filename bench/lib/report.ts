import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './vodcloud';

/** Prints rows as an aligned text table (first column left-aligned, the rest right-aligned). */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

/** "0.93× (goal ≥ 0.8×) PASS" */
export function ratioLine(label: string, ratio: number, goal: number): string {
  return `${label}: ${ratio.toFixed(2)}× (goal ≥ ${goal}×) ${ratio >= goal ? 'PASS' : 'MISS'}`;
}

/** Writes the results to bench/out/<name>-<timestamp>.json and returns the path. */
export async function writeResults(name: string, results: unknown): Promise<string> {
  const dir = path.join(REPO_ROOT, 'bench', 'out');
  await mkdir(dir, { recursive: true });
  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  const file = path.join(dir, `${name}-${stamp}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/**
 * Removes a run's directory. A stopping server's ffmpeg may still be writing there (ENOTEMPTY): retried for
 * 2 s, then left with a warning, since its leftovers are not the run's result.
 */
export async function removeRunDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }).catch((err) =>
    console.warn(`could not remove ${dir}: ${(err as Error).message}`),
  );
}
