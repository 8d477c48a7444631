/**
 * Rules that know vodcloud: each container of the vodcloud image runs a real command, its environment
 * (ConfigMap, Secret, env, in Kubernetes' order) is accepted by vodcloud's own configuration loader
 * (apps/server/src/config.ts: an unknown or malformed VOD_* setting would stop the program, exit 78), the
 * grace period outlasts the graceful drain, and cluster pods advertise an address other nodes can reach.
 */
import { ConfigError, loadConfig } from '../../apps/server/src/config';
import { type PodTemplate, podTemplates } from './lint';
import type { K8sObject } from './render';
import { idOf } from './schema';

const COMMANDS = ['serve', 'migrate', 'doctor'];
/** What the downward API would give, for checking values that use it. */
const FIELD_SAMPLES: Record<string, string> = {
  'status.podIP': '10.1.2.3',
  'metadata.name': 'vodcloud-pod',
  'metadata.namespace': 'vodcloud',
  'spec.nodeName': 'node-1',
};

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: unknown; configMapKeyRef?: unknown };
}
interface Container {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: EnvVar[];
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
}

export const isVodcloudImage = (image = '') => /(^|\/)vodcloud(:|@|$)/.test(image);

/** The container's environment as the kubelet builds it: envFrom in order, then env with $(VAR) expanded. */
export function containerEnv(c: Container, objs: K8sObject[], secrets: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  const dataOf = (kind: string, name: string) => {
    const o = [...objs, ...secrets].find((x) => x.kind === kind && x.metadata.name === name);
    return {
      ...((o?.data as Record<string, string>) ?? {}),
      ...((o?.stringData as Record<string, string>) ?? {}),
    };
  };
  for (const ref of c.envFrom ?? []) {
    if (ref.configMapRef) Object.assign(env, dataOf('ConfigMap', ref.configMapRef.name));
    if (ref.secretRef) Object.assign(env, dataOf('Secret', ref.secretRef.name));
  }
  for (const v of c.env ?? []) {
    if (v.value !== undefined)
      env[v.name] = v.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n) => env[n] ?? m);
    else if (v.valueFrom?.fieldRef) env[v.name] = FIELD_SAMPLES[v.valueFrom.fieldRef.fieldPath] ?? 'sample';
    else env[v.name] = 'sample';
  }
  return env;
}

function containerProblems(
  t: PodTemplate,
  c: Container,
  init: boolean,
  objs: K8sObject[],
  secrets: K8sObject[],
) {
  const where = `${idOf(t.owner)}: container ${c.name}`;
  const out: string[] = [];
  if (c.command) out.push(`${where}: sets command (the image's entrypoint runs the vodcloud CLI; use args)`);
  const cmd = c.args?.[0];
  if (!cmd || !COMMANDS.includes(cmd))
    out.push(`${where}: args must start with one of ${COMMANDS.join(', ')}`);
  const env = containerEnv(c, objs, secrets);
  const unresolved = Object.entries(env).filter(([, v]) => /\$\([A-Za-z_]/.test(v));
  for (const [k, v] of unresolved)
    out.push(`${where}: ${k}=${v} refers to a variable defined nowhere before it`);
  try {
    loadConfig(env);
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
    for (const p of problems) out.push(`${where}: vodcloud would refuse this configuration: ${p}`);
  }
  if (init || cmd !== 'serve') return out;
  const graceS = (t.spec.terminationGracePeriodSeconds as number | undefined) ?? 30;
  const drainMs =
    Number(env.VOD_SHUTDOWN_TIMEOUT_MS ?? 10_000) + (c.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
  if (graceS * 1000 <= drainMs)
    out.push(
      `${where}: terminationGracePeriodSeconds ${graceS} does not exceed VOD_SHUTDOWN_TIMEOUT_MS plus the preStop pause (${drainMs} ms)`,
    );
  return out;
}

/** `cluster`: several pods (each must set VOD_ADVERTISE_URL); otherwise one pod running every role. */
export function vodcloudProblems(objs: K8sObject[], secrets: K8sObject[], cluster: boolean): string[] {
  const out: string[] = [];
  for (const t of podTemplates(objs)) {
    const lists = [
      ...((t.spec.initContainers as Container[] | undefined) ?? []).map((c) => [c, true] as const),
      ...((t.spec.containers as Container[] | undefined) ?? []).map((c) => [c, false] as const),
    ];
    for (const [c, init] of lists) {
      if (!isVodcloudImage(c.image)) continue;
      out.push(...containerProblems(t, c, init, objs, secrets));
      if (cluster && !init && !(c.env ?? []).some((v) => v.name === 'VOD_ADVERTISE_URL'))
        out.push(
          `${idOf(t.owner)}: container ${c.name}: no VOD_ADVERTISE_URL (other nodes could not reach it)`,
        );
    }
  }
  return out;
}
