/**
 * Validates deploy/kubernetes offline (scripts/k8s-validate.sh runs it; so does test/deploy/k8s.test.ts):
 * renders the base and every overlay (scripts/k8s-validate/render.ts: the Kustomize subset they use),
 * reads local/vodcloud.yaml and secret.example.yaml, and checks every object against the Kubernetes
 * schemas (kubernetes-models, prometheus-operator models), for unknown fields (TypeScript), with the
 * rules of lint.ts and vodcloud.ts. Exit 1 on any problem.
 *
 *   node --import tsx scripts/k8s-validate.ts [--root DIR] [--print TARGET]
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { lintProblems } from './k8s-validate/lint';
import { type K8sObject, loadYaml, renderKustomization } from './k8s-validate/render';
import { idOf, modelProblems, strictFieldProblems } from './k8s-validate/schema';
import { vodcloudProblems } from './k8s-validate/vodcloud';

const repoRoot = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { root: { type: 'string' }, print: { type: 'string' } },
});
const root = path.resolve(values.root ?? path.join(repoRoot, 'deploy/kubernetes'));

interface Target {
  name: string;
  objects: K8sObject[];
  problems: string[];
  kind: 'cluster' | 'local' | 'plain';
}

/** Only what podman play kube runs: a Pod or a Deployment, self-contained, reachable on a host port. */
function localProblems(objs: K8sObject[]): string[] {
  const out: string[] = [];
  for (const o of objs) {
    if (!['Pod', 'Deployment'].includes(o.kind))
      out.push(`${idOf(o)}: podman play kube runs Pods and Deployments here, not ${o.kind}`);
  }
  const text = JSON.stringify(objs);
  if (!/"hostPort":\d+/.test(text))
    out.push('no container port has a hostPort: the API would not be reachable');
  if (/"secretRef"|"configMapRef"/.test(text))
    out.push('refers to a ConfigMap or Secret: keep the local manifest self-contained');
  return out;
}

function load(): Target[] {
  const secrets = loadYaml(path.join(root, 'secret.example.yaml'));
  const externalSecrets = secrets.map((s) => s.metadata.name);
  const targets: Target[] = [{ name: 'secret.example.yaml', objects: secrets, problems: [], kind: 'plain' }];
  const overlays = path.join(root, 'overlays');
  const dirs = [
    'base',
    ...readdirSync(overlays)
      .filter((d) => statSync(path.join(overlays, d)).isDirectory())
      .map((d) => `overlays/${d}`),
  ];
  for (const dir of dirs) {
    const t: Target = { name: dir, objects: [], problems: [], kind: 'cluster' };
    try {
      t.objects = renderKustomization(path.join(root, dir));
      t.problems.push(...lintProblems(t.objects, { requirePdb: true, restricted: true, externalSecrets }));
      t.problems.push(...vodcloudProblems(t.objects, secrets, true));
    } catch (err) {
      t.problems.push(`render: ${(err as Error).message}`);
    }
    targets.push(t);
  }
  const local: Target = { name: 'local/vodcloud.yaml', objects: [], problems: [], kind: 'local' };
  try {
    local.objects = loadYaml(path.join(root, 'local/vodcloud.yaml'));
    local.problems.push(...localProblems(local.objects));
    local.problems.push(
      ...lintProblems(local.objects, { requirePdb: false, restricted: false, externalSecrets: [] }),
    );
    local.problems.push(...vodcloudProblems(local.objects, [], false));
  } catch (err) {
    local.problems.push(`load: ${(err as Error).message}`);
  }
  targets.push(local);
  try {
    loadYaml(path.join(root, 'prometheus-adapter/values.yaml'));
  } catch (err) {
    // Helm values, not Kubernetes objects: only "does it parse" matters; loadYaml's shape check does not.
    if (!/without apiVersion/.test((err as Error).message)) targets[0]!.problems.push((err as Error).message);
  }
  return targets;
}

const targets = load();
if (values.print) {
  const t = targets.find((x) => x.name === values.print);
  if (!t) throw new Error(`no target ${values.print}; known: ${targets.map((x) => x.name).join(', ')}`);
  process.stdout.write(t.objects.map((o) => stringify(o)).join('---\n'));
  process.exit(0);
}
const all = targets.flatMap((t) => t.objects.map((o) => ({ t, o })));
for (const t of targets) t.problems.push(...modelProblems(t.objects));
const strict = strictFieldProblems(
  all.map((x) => x.o),
  repoRoot,
  (o, i) => `${all[i]!.t.name} ${idOf(o)}`,
);
for (const p of strict) {
  const t = targets.find((x) => p.startsWith(`${x.name} `));
  if (t) t.problems.push(p.slice(t.name.length + 1));
  else targets[0]!.problems.push(p);
}
let problems = 0;
for (const t of targets) {
  const kinds = [...new Set(t.objects.map((o) => o.kind))].join(', ');
  console.log(`${t.problems.length ? 'FAIL' : 'ok  '} ${t.name}: ${t.objects.length} objects (${kinds})`);
  for (const p of t.problems) console.log(`     ${t.name}: ${p}`);
  problems += t.problems.length;
}
console.log(`k8s-validate: ${targets.length} targets, ${all.length} objects, ${problems} problems`);
process.exit(problems ? 1 : 0);
