// The programs a benchmark runs beside vodcloud (its references and load generators). A fresh machine may lack
// them (`npm run bench -- delivery` once died with `spawn wrk ENOENT`): they are installed with the project's
// own script before the benchmark starts, or the run stops at once naming what is missing and how to get it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/install-system-deps.sh');

/** Whether `tool` is an executable on PATH (or in /usr/sbin, where Debian puts nginx). */
export function hasTool(tool: string, envPath = process.env.PATH ?? ''): boolean {
  return [...envPath.split(':'), '/usr/sbin', '/sbin'].some((dir) => {
    if (!dir) return false;
    try {
      accessSync(path.join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Makes sure every tool is there: installs the bench packages once if any is missing, then checks again. */
export function ensureTools(tools: readonly string[], install = SCRIPT): void {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length === 0) return;
  console.log(
    `bench: ${missing.join(', ')} missing; installing with ${path.relative(process.cwd(), install)} --bench`,
  );
  const r = spawnSync(install, ['--bench'], { stdio: 'inherit' });
  const still = tools.filter((t) => !hasTool(t));
  if (still.length > 0)
    throw new Error(
      `this benchmark needs ${still.join(', ')}, which could not be installed (exit ${r.status ?? r.error?.message}); ` +
        'run scripts/install-system-deps.sh --bench as root (it uses sudo otherwise)',
    );
}
