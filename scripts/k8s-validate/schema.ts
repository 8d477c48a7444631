/**
 * Schema checks of rendered objects, offline:
 * 1. kubernetes-models (and @kubernetes-models/prometheus-operator for the ServiceMonitor): each object
 *    validated against the JSON schema of its apiVersion and kind (types, required fields, formats).
 * 2. Unknown fields, which those schemas let through (the API server refuses them with kubectl's default
 *    strict field validation): every object is type-checked by TypeScript as an object literal of the
 *    models' interface, so a misspelt or misplaced field is an excess-property error.
 */
import path from 'node:path';
import * as promV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import ts from 'typescript';
import type { K8sObject } from './render';

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

const MODULES: Record<string, { exports: Record<string, unknown>; specifier: string }> = {
  v1: { exports: coreV1, specifier: 'kubernetes-models/v1' },
  'apps/v1': { exports: appsV1, specifier: 'kubernetes-models/apps/v1' },
  'autoscaling/v2': { exports: autoscalingV2, specifier: 'kubernetes-models/autoscaling/v2' },
  'batch/v1': { exports: batchV1, specifier: 'kubernetes-models/batch/v1' },
  'networking.k8s.io/v1': { exports: networkingV1, specifier: 'kubernetes-models/networking.k8s.io/v1' },
  'policy/v1': { exports: policyV1, specifier: 'kubernetes-models/policy/v1' },
  'monitoring.coreos.com/v1': {
    exports: promV1,
    specifier: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  },
};

function modelOf(o: K8sObject): ModelClass | undefined {
  const mod = MODULES[o.apiVersion];
  const cls = mod?.exports[o.kind] as ModelClass | undefined;
  return cls && cls.kind === o.kind && cls.apiVersion === o.apiVersion ? cls : undefined;
}

export const idOf = (o: K8sObject) => `${o.kind}/${o.metadata?.name ?? '?'}`;

/** Schema errors of each object, as "Kind/name: message". */
export function modelProblems(objs: K8sObject[]): string[] {
  const out: string[] = [];
  for (const o of objs) {
    const Model = modelOf(o);
    if (!Model) {
      out.push(`${idOf(o)}: no schema known for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (err) {
      out.push(`${idOf(o)}: schema: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Unknown or mistyped fields of every object, found by type-checking it against the models' interfaces. */
export function strictFieldProblems(
  objs: K8sObject[],
  repoRoot: string,
  labelOf: (o: K8sObject, i: number) => string = idOf,
): string[] {
  const file = path.join(repoRoot, '__k8s_validate_check__.ts');
  const lines: string[] = [];
  const ownerOfLine: string[] = [];
  const imports = new Map<string, Set<string>>();
  objs.forEach((o, i) => {
    const mod = MODULES[o.apiVersion];
    if (!mod || !modelOf(o)) return; // reported by modelProblems
    const names = imports.get(mod.specifier) ?? new Set();
    names.add(`I${o.kind}`);
    imports.set(mod.specifier, names);
    const body = JSON.stringify(o, null, 1).split('\n');
    body[0] = `export const o${i}: I${o.kind} = ${body[0]}`;
    for (const l of body) {
      lines.push(l);
      ownerOfLine.push(labelOf(o, i));
    }
    lines[lines.length - 1] += ';';
  });
  const head = [...imports].map(
    ([spec, names]) => `import type { ${[...names].join(', ')} } from '${spec}';`,
  );
  const text = [...head, ...lines].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (f, lang, ...rest) =>
    f === file ? ts.createSourceFile(f, text, lang) : getSourceFile(f, lang, ...rest);
  host.fileExists = (f) => f === file || fileExists(f);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (d.file?.fileName !== file || d.start === undefined) return `type check: ${msg}`;
    const line = d.file.getLineAndCharacterOfPosition(d.start).line - head.length;
    return `${ownerOfLine[line] ?? '?'}: field: ${msg} (at ${lines[line]?.trim()})`;
  });
}
