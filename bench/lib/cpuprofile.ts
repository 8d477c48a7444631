import { readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by function (name and file:line, 1-based). */
  functions: { name: string; where: string; ms: number }[];
  /** Self time by where the code lives: an npm package, a node: internal module, the repo, or V8 ((gc), (idle)…). */
  groups: { group: string; ms: number }[];
}

function groupOf(url: string, name: string, repoRoot: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = file.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (file.startsWith('node:')) return file.split('/').slice(0, 3).join('/');
  return path.relative(repoRoot, file).split('/').slice(0, 3).join('/');
}

/** Self time per function and per package from a V8 .cpuprofile (as written by node --cpu-prof). */
export async function summarizeCpuProfile(file: string, repoRoot: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const fns = new Map<string, { name: string; where: string; ms: number }>();
  const groups = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    const rel = url ? url.replace(/^file:\/\//, '').replace(`${repoRoot}/`, '') : '';
    const where = rel ? `${rel}:${lineNumber + 1}` : '';
    const k = `${name} ${where}`;
    const e = fns.get(k) ?? { name, where, ms: 0 };
    e.ms += us / 1000;
    fns.set(k, e);
    const g = groupOf(url, name, repoRoot);
    groups.set(g, (groups.get(g) ?? 0) + us / 1000);
    total += us / 1000;
  }
  return {
    totalMs: total,
    functions: [...fns.values()].sort((a, b) => b.ms - a.ms).slice(0, top),
    groups: [...groups.entries()]
      .map(([group, ms]) => ({ group, ms }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}
