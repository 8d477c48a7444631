/**
 * vodcloud's own rules for rendered manifests, beyond the schemas: every container is bounded, probed and
 * locked down, images are pinned, and the objects that refer to each other (Services, Ingresses, PDBs,
 * HPAs, NetworkPolicies, the ServiceMonitor, envFrom) find what they name.
 */

import { type K8sObject, podSpecOf, splitImage } from './render';
import { idOf } from './schema';

type Labels = Record<string, string>;
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Container {
  name: string;
  image?: string;
  args?: string[];
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  ports?: { name?: string; containerPort: number; hostPort?: number }[];
  [probe: string]: unknown;
}

/** A pod template annotation that documents why a container may not meet the security rules. */
export const SECURITY_EXCEPTION = 'vodcloud.io/security-exception';
const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'];

export const matches = (sel: Selector | undefined, labels: Labels | undefined): boolean => {
  if (!sel) return false;
  const l = labels ?? {};
  const byLabels = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => l[k] === v);
  const byExpr = (sel.matchExpressions ?? []).every((e) => {
    if (e.operator === 'In') return (e.values ?? []).includes(l[e.key] ?? '\0');
    if (e.operator === 'NotIn') return !(e.values ?? []).includes(l[e.key] ?? '\0');
    if (e.operator === 'Exists') return e.key in l;
    return !(e.key in l);
  });
  return byLabels && byExpr;
};

export interface PodTemplate {
  owner: K8sObject;
  namespace?: string;
  labels: Labels;
  annotations: Labels;
  spec: Record<string, unknown>;
}

export function podTemplates(objs: K8sObject[]): PodTemplate[] {
  const out: PodTemplate[] = [];
  for (const o of objs) {
    const spec = podSpecOf(o);
    if (!spec) continue;
    const meta = (
      o.kind === 'Pod' ? o.metadata : (o.spec as { template?: { metadata?: unknown } }).template?.metadata
    ) as { labels?: Labels; annotations?: Labels } | undefined;
    out.push({
      owner: o,
      namespace: o.metadata.namespace,
      labels: meta?.labels ?? {},
      annotations: meta?.annotations ?? {},
      spec,
    });
  }
  return out;
}

const containersOf = (spec: Record<string, unknown>, list: 'containers' | 'initContainers') =>
  (spec[list] as Container[] | undefined) ?? [];

function containerProblems(t: PodTemplate, c: Container, init: boolean, restricted: boolean): string[] {
  const where = `${idOf(t.owner)}: container ${c.name}`;
  const out: string[] = [];
  const r = c.resources ?? {};
  for (const kind of ['requests', 'limits'] as const)
    for (const res of ['cpu', 'memory'])
      if (r[kind]?.[res] === undefined) out.push(`${where}: no resources.${kind}.${res}`);
  const { tag } = splitImage(c.image ?? '');
  if (!c.image) out.push(`${where}: no image`);
  else if (!c.image.includes('@') && (!tag || tag === 'latest'))
    out.push(`${where}: image ${c.image} is not pinned (a tag other than latest, or a digest)`);
  if (!init)
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
      if (!c[probe]) out.push(`${where}: no ${probe}`);
  if (!t.annotations[SECURITY_EXCEPTION]) {
    const sc = c.securityContext ?? {};
    const podSc = (t.spec.securityContext as Record<string, unknown> | undefined) ?? {};
    if (sc.runAsNonRoot !== true && podSc.runAsNonRoot !== true)
      out.push(`${where}: runAsNonRoot is not true (pod or container securityContext)`);
    if (sc.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem is not true`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
    if (!sc.capabilities?.drop?.includes('ALL')) out.push(`${where}: capabilities do not drop ALL`);
    const seccomp = (sc.seccompProfile ?? podSc.seccompProfile) as { type?: string } | undefined;
    if (restricted && !['RuntimeDefault', 'Localhost'].includes(seccomp?.type ?? ''))
      out.push(`${where}: no seccompProfile RuntimeDefault (Pod Security "restricted" requires one)`);
  }
  return out;
}

function workloadProblems(objs: K8sObject[], templates: PodTemplate[], o: LintOptions): string[] {
  const { requirePdb, restricted } = o;
  const out: string[] = [];
  const of = (kind: string) => objs.filter((o) => o.kind === kind);
  for (const t of templates) {
    for (const c of containersOf(t.spec, 'initContainers'))
      out.push(...containerProblems(t, c, true, restricted));
    for (const c of containersOf(t.spec, 'containers'))
      out.push(...containerProblems(t, c, false, restricted));
    if (!WORKLOADS.includes(t.owner.kind)) continue;
    const selector = (t.owner.spec as { selector?: Selector }).selector;
    if (!matches(selector, t.labels))
      out.push(`${idOf(t.owner)}: its selector does not match its pod template`);
    const pdbs = of('PodDisruptionBudget').filter(
      (p) =>
        p.metadata.namespace === t.namespace &&
        matches((p.spec as { selector?: Selector }).selector, t.labels),
    );
    if (requirePdb && pdbs.length === 0)
      out.push(`${idOf(t.owner)}: no PodDisruptionBudget selects its pods`);
    const hpa = of('HorizontalPodAutoscaler').find(
      (h) => (h.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === t.owner.metadata.name,
    );
    if (hpa && (t.owner.spec as { replicas?: number }).replicas !== undefined)
      out.push(
        `${idOf(t.owner)}: sets spec.replicas although ${idOf(hpa)} scales it (every apply would reset it)`,
      );
  }
  for (const p of of('PodDisruptionBudget'))
    if (!templates.some((t) => matches((p.spec as { selector?: Selector }).selector, t.labels)))
      out.push(`${idOf(p)}: selects no pods`);
  for (const h of of('HorizontalPodAutoscaler')) {
    const ref = (h.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
    if (!objs.some((o) => o.kind === ref.kind && o.metadata.name === ref.name))
      out.push(`${idOf(h)}: scales ${ref.kind}/${ref.name}, which does not exist`);
  }
  return out;
}

const portsOf = (t: PodTemplate) => containersOf(t.spec, 'containers').flatMap((c) => c.ports ?? []);

function referenceProblems(objs: K8sObject[], templates: PodTemplate[], externalSecrets: string[]): string[] {
  const out: string[] = [];
  const services = objs.filter((o) => o.kind === 'Service');
  for (const s of services) {
    const spec = s.spec as { selector?: Labels; ports?: { name?: string; targetPort?: string | number }[] };
    const pods = templates.filter(
      (t) => t.namespace === s.metadata.namespace && matches({ matchLabels: spec.selector }, t.labels),
    );
    if (!spec.selector || pods.length === 0) {
      out.push(`${idOf(s)}: selects no pods of this manifest set`);
      continue;
    }
    for (const p of spec.ports ?? [])
      if (
        typeof p.targetPort === 'string' &&
        !pods.some((t) => portsOf(t).some((cp) => cp.name === p.targetPort))
      )
        out.push(`${idOf(s)}: targetPort ${p.targetPort} is no container port of its pods`);
  }
  const servicePort = (name: string, ns: string | undefined, port: { name?: string; number?: number }) =>
    services.find(
      (s) =>
        s.metadata.name === name &&
        s.metadata.namespace === ns &&
        (s.spec as { ports: { name?: string; port: number }[] }).ports.some((p) =>
          port.name ? p.name === port.name : p.port === port.number,
        ),
    );
  for (const ing of objs.filter((o) => o.kind === 'Ingress')) {
    type Backend = { service: { name: string; port: { name?: string; number?: number } } };
    const rules = (ing.spec as { rules?: { http?: { paths: { backend: Backend }[] } }[] }).rules ?? [];
    for (const b of rules.flatMap((r) => r.http?.paths ?? []).map((p) => p.backend))
      if (!servicePort(b.service.name, ing.metadata.namespace, b.service.port))
        out.push(
          `${idOf(ing)}: backend ${b.service.name}:${b.service.port.name ?? b.service.port.number} is no Service port`,
        );
  }
  for (const sm of objs.filter((o) => o.kind === 'ServiceMonitor')) {
    const spec = sm.spec as { selector: Selector; endpoints: { port?: string }[] };
    const selected = services.filter(
      (s) => s.metadata.namespace === sm.metadata.namespace && matches(spec.selector, s.metadata.labels),
    );
    if (selected.length === 0) out.push(`${idOf(sm)}: selects no Service`);
    for (const e of spec.endpoints)
      for (const s of selected)
        if (!(s.spec as { ports: { name?: string }[] }).ports.some((p) => p.name === e.port))
          out.push(`${idOf(sm)}: ${idOf(s)} has no port named ${e.port}`);
  }
  for (const np of objs.filter((o) => o.kind === 'NetworkPolicy'))
    if (!templates.some((t) => matches((np.spec as { podSelector: Selector }).podSelector, t.labels)))
      out.push(`${idOf(np)}: its podSelector selects no pods`);
  const has = (kind: string, name: string) => objs.some((o) => o.kind === kind && o.metadata.name === name);
  for (const t of templates)
    for (const c of [...containersOf(t.spec, 'initContainers'), ...containersOf(t.spec, 'containers')])
      for (const ref of (c.envFrom as
        | { configMapRef?: { name: string }; secretRef?: { name: string } }[]
        | undefined) ?? []) {
        if (ref.configMapRef && !has('ConfigMap', ref.configMapRef.name))
          out.push(
            `${idOf(t.owner)}: container ${c.name}: ConfigMap ${ref.configMapRef.name} is not defined`,
          );
        if (
          ref.secretRef &&
          !has('Secret', ref.secretRef.name) &&
          !externalSecrets.includes(ref.secretRef.name)
        )
          out.push(
            `${idOf(t.owner)}: container ${c.name}: Secret ${ref.secretRef.name} is neither defined nor documented`,
          );
      }
  return out;
}

export interface LintOptions {
  /** Every workload must be selected by a PodDisruptionBudget. */
  requirePdb: boolean;
  /** Pods must meet Pod Security "restricted" (the namespaces of the overlays enforce it). */
  restricted: boolean;
  /** Secrets created outside the manifests (documented in secret.example.yaml). */
  externalSecrets: string[];
}

export function lintProblems(objs: K8sObject[], o: LintOptions): string[] {
  const templates = podTemplates(objs);
  return [...workloadProblems(objs, templates, o), ...referenceProblems(objs, templates, o.externalSecrets)];
}
