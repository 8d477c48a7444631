// `npm run bench -- footprint`: idle memory and start time of `vodcloud serve` (every role, embedded
// defaults) as a checkout runs it (tsx loader) and as the production build runs it (`npm run build`,
// node dist/vodcloud.js), side by side, several rounds; medians and the spread. `--roles stream,upload,all`
// (`api+worker`: one node with both) measures the build once per role set instead (issue 21's goal: a stream-only or upload-only node ≤ 100 MB).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');

interface Variant {
  name: string;
  args: string[];
}

const VARIANTS: Variant[] = [
  { name: 'checkout (tsx)', args: [path.join(ROOT, 'apps/server/bin/vodcloud.js'), 'serve'] },
  { name: 'build (dist)', args: [path.join(ROOT, 'dist/vodcloud.js'), 'serve'] },
  {
    name: 'build, --max-semi-space-size=1',
    args: ['--max-semi-space-size=1', path.join(ROOT, 'dist/vodcloud.js'), 'serve'],
  },
];

const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};

async function once(v: Variant, port: number, idleSec: number, roles = 'all') {
  const data = mkdtempSync(path.join(tmpdir(), 'vodfoot-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, v.args, {
    cwd: ROOT,
    env: {
      ...process.env,
      VOD_DATA_DIR: data,
      VOD_PORT: String(port),
      VOD_HOST: '127.0.0.1',
      VOD_ADMIN_API_KEY: 'footprint-admin-key-0123456789',
      VOD_LOG_LEVEL: 'warn',
      VOD_ROLES: roles,
    },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (child.exitCode !== null || performance.now() - t0 > 60_000)
        throw new Error(`${v.name} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const readyMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, idleSec * 1000));
    return { readyMs, rss: rssMb(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(data, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function main(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '3' },
      idle: { type: 'string', default: '20' },
      roles: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(
      'npm run bench -- footprint [--rounds 3] [--idle 20] [--roles stream,upload,api+worker,all]   (run `npm run build` first)',
    );
    return;
  }
  const rounds = Number(values.rounds);
  const results = new Map<string, { ready: number[]; rss: number[] }>();
  // With --roles: the build, once per role set (`VOD_ROLES`), each its own line.
  const runs = values.roles
    ? values.roles.split(',').map((set) => ({
        v: { ...VARIANTS[1]!, name: `build, roles ${set}` },
        roles: set.replaceAll('+', ','), // api+worker: one node with both
      }))
    : VARIANTS.map((v) => ({ v, roles: 'all' }));
  for (let r = 0; r < rounds; r++)
    for (const { v, roles } of runs) {
      const m = await once(v, 19_500 + r, Number(values.idle), roles);
      const e = results.get(v.name) ?? { ready: [], rss: [] };
      e.ready.push(m.readyMs);
      e.rss.push(m.rss);
      results.set(v.name, e);
      console.log(
        `round ${r + 1} ${v.name}: ready in ${m.readyMs.toFixed(0)} ms, idle RSS ${m.rss.toFixed(1)} MB`,
      );
    }
  const base = results.get(runs[0]!.v.name)!;
  console.log(`\nidle ${values.idle} s, ${rounds} rounds (median [min–max]):`);
  for (const [name, e] of results)
    console.log(
      `  ${name.padEnd(32)} RSS ${median(e.rss).toFixed(1)} MB [${Math.min(...e.rss).toFixed(1)}–${Math.max(...e.rss).toFixed(1)}] (×${(median(e.rss) / median(base.rss)).toFixed(2)}), start → ready ${median(e.ready).toFixed(0)} ms [${Math.min(...e.ready).toFixed(0)}–${Math.max(...e.ready).toFixed(0)}]`,
    );
}
