/**
 * Renders a kustomization the way `kubectl kustomize` does, for the subset deploy/kubernetes uses:
 * `resources` (files and directories with their own kustomization), `patches` (by `path`: strategic
 * merge patches naming their target by kind and name), `replicas`, `images` and `namespace`. Any other
 * field is refused, so a kustomization never silently renders differently here than in kubectl.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'patches', 'replicas', 'images', 'namespace']);
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
  'IngressClass',
]);

/** Every YAML document of a file, as objects (empty documents skipped); throws on a parse error. */
export function loadYaml(file: string): K8sObject[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const out: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || !value.kind || !value.apiVersion || !value.metadata?.name)
      throw new Error(`${file}: a document without apiVersion, kind and metadata.name`);
    out.push(value);
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Merge keys of the lists deploy/kubernetes patches (as in the Kubernetes API's patchMergeKey). */
function mergeKeyOf(field: string | undefined, items: unknown[]): string | undefined {
  if (field === 'ports')
    return items.some((i) => isObject(i) && 'containerPort' in i) ? 'containerPort' : 'port';
  return {
    containers: 'name',
    initContainers: 'name',
    env: 'name',
    volumes: 'name',
    volumeMounts: 'mountPath',
    imagePullSecrets: 'name',
  }[field ?? ''];
}

/** A strategic merge patch: maps merge, lists with a merge key merge by it, other lists are replaced, null deletes. */
export function strategicMerge(base: unknown, patch: unknown, field?: string): unknown {
  if (isObject(patch) && '$patch' in patch) throw new Error('$patch directives are not supported here');
  if (isObject(base) && isObject(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = strategicMerge(base[k], v, k);
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch)) {
    const key = mergeKeyOf(field, [...base, ...patch]);
    if (!key) return structuredClone(patch);
    const out = [...base];
    for (const item of patch) {
      const at = isObject(item) ? out.findIndex((b) => isObject(b) && b[key] === item[key]) : -1;
      if (at >= 0) out[at] = strategicMerge(out[at], item);
      else out.push(structuredClone(item));
    }
    return out;
  }
  return structuredClone(patch);
}

/** The pod specs of a workload or pod (Deployment, StatefulSet, DaemonSet, Job, ReplicaSet, Pod). */
export function podSpecOf(o: K8sObject): Record<string, unknown> | undefined {
  const spec = o.spec as Record<string, unknown> | undefined;
  if (o.kind === 'Pod') return spec;
  const template = spec?.template as { spec?: Record<string, unknown> } | undefined;
  return template?.spec;
}

/** Splits `registry:5000/a/b:tag` into name and tag (a digest stays in the name). */
export function splitImage(image: string): { name: string; tag?: string } {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (image.includes('@') || colon <= slash) return { name: image };
  return { name: image.slice(0, colon), tag: image.slice(colon + 1) };
}

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string;
}

function setImages(objs: K8sObject[], rules: ImageRule[]): void {
  for (const o of objs) {
    const spec = podSpecOf(o);
    for (const list of ['containers', 'initContainers']) {
      for (const c of (spec?.[list] as { image?: string }[] | undefined) ?? []) {
        if (!c.image) continue;
        const { name, tag } = splitImage(c.image);
        const rule = rules.find((r) => r.name === name);
        if (!rule) continue;
        const newTag = rule.newTag ?? tag;
        c.image = `${rule.newName ?? name}${newTag ? `:${newTag}` : ''}`;
      }
    }
  }
}

function applyPatches(dir: string, objs: K8sObject[], patches: { path?: string }[]): K8sObject[] {
  let out = objs;
  for (const p of patches) {
    if (!p.path || Object.keys(p).some((k) => k !== 'path'))
      throw new Error(`${dir}: only patches given by path are supported`);
    for (const patch of loadYaml(path.resolve(dir, p.path))) {
      const hits = out.filter((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (hits.length !== 1)
        throw new Error(
          `${path.join(dir, p.path)}: the patch of ${patch.kind}/${patch.metadata.name} matches ${hits.length} resources`,
        );
      out = out.map((o) => (o === hits[0] ? (strategicMerge(o, patch) as K8sObject) : o));
    }
  }
  return out;
}

/** Renders the kustomization in `dir` (recursively through directory resources). */
export function renderKustomization(dir: string): K8sObject[] {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']
    .map((f) => path.join(dir, f))
    .find((f) => existsSync(f));
  if (!file) throw new Error(`${dir}: no kustomization.yaml`);
  const [k] = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS()) as Record<string, unknown>[];
  if (!k) throw new Error(`${file}: empty`);
  for (const key of Object.keys(k))
    if (!SUPPORTED.has(key)) throw new Error(`${file}: field ${key} is not supported by this renderer`);
  let objs: K8sObject[] = [];
  for (const r of (k.resources as string[] | undefined) ?? []) {
    const full = path.resolve(dir, r);
    if (!existsSync(full)) throw new Error(`${file}: resource ${r} does not exist`);
    objs.push(...(statSync(full).isDirectory() ? renderKustomization(full) : loadYaml(full)));
  }
  objs = applyPatches(dir, objs, (k.patches as { path?: string }[] | undefined) ?? []);
  if (typeof k.namespace === 'string')
    for (const o of objs) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  for (const r of (k.replicas as { name: string; count: number }[] | undefined) ?? []) {
    const hits = objs.filter(
      (o) => ['Deployment', 'StatefulSet', 'ReplicaSet'].includes(o.kind) && o.metadata.name === r.name,
    );
    if (hits.length === 0) throw new Error(`${file}: replicas: no workload named ${r.name}`);
    for (const o of hits) (o.spec as Record<string, unknown>).replicas = r.count;
  }
  setImages(objs, (k.images as ImageRule[] | undefined) ?? []);
  const seen = new Set<string>();
  for (const o of objs) {
    const id = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (seen.has(id)) throw new Error(`${file}: ${o.kind} ${o.metadata.name} is defined twice`);
    seen.add(id);
  }
  return objs;
}
