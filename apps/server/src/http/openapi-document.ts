// The whole OpenAPI document after @fastify/swagger built it from the routes (see openapi.ts for each
// operation): valid components, the Problem schema, examples, the tag list.
import { jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { ERROR_STATUS } from '../lib/errors';
import { type JsonSchema, TAGS, withoutMetaKeys } from './openapi';
import { componentExamples } from './openapi-examples';

/** Every 4xx/5xx response of the document as application/problem+json, the media type the server sends. */
export function problemContentTypes<T>(doc: T): T {
  const paths = (doc as { paths?: Record<string, Record<string, { responses?: Record<string, unknown> }>> })
    .paths;
  for (const ops of Object.values(paths ?? {}))
    for (const op of Object.values(ops ?? {}))
      for (const [status, res] of Object.entries(op?.responses ?? {})) {
        const content = (res as { content?: Record<string, unknown> } | undefined)?.content;
        if (!/^[45]/.test(status) || !content?.['application/json']) continue;
        content['application/problem+json'] = content['application/json'];
        delete content['application/json'];
      }
  return doc;
}

/** The `#/components/schemas/…` names a value refers to. */
function refsOf(v: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(v)) for (const x of v) refsOf(x, into);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string' && x.startsWith('#/components/schemas/'))
        into.add(x.slice('#/components/schemas/'.length));
      else refsOf(x, into);
    }
  return into;
}

type Doc = {
  paths?: Record<string, unknown>;
  components?: { schemas?: Record<string, JsonSchema> } & Record<string, unknown>;
} & Record<string, unknown>;

/**
 * The whole-document transform: components from the zod registry without their `$id` (zod writes
 * `#/components/schemas/X`, a fragment-only `$id` that JSON Schema 2020-12 forbids: the OpenAPI linters'
 * ~50 errors) and `$schema`; the Problem schema with every error code; examples on the main resources;
 * only the components some operation uses (the registry makes an input and an output variant of each).
 */
export function documentTransform(input: Parameters<typeof jsonSchemaTransformObject>[0]): Doc {
  const doc = problemContentTypes(jsonSchemaTransformObject(input) as Doc);
  const schemas = doc.components?.schemas ?? {};
  for (const [name, schema] of Object.entries(schemas)) schemas[name] = withoutMetaKeys(schema);
  const problem = schemas.Problem;
  if (problem) schemas.Problem = problemSchema(problem);
  for (const [name, example] of Object.entries(componentExamples))
    if (schemas[name]) schemas[name] = { ...schemas[name], examples: [example] };
  const used = refsOf(doc.paths, new Set());
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of [...used])
      for (const r of refsOf(schemas[name], new Set()))
        if (!used.has(r)) {
          used.add(r);
          grew = true;
        }
  }
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
  // A GET+HEAD route is one route: its HEAD gets an operationId of its own (getMp4 → headMp4).
  // (@fastify/swagger suffixes a HEAD-only route's operationId with `-head`: not camelCase, so removed.)
  for (const item of Object.values(doc.paths ?? {}) as Array<Record<string, { operationId?: string }>>) {
    if (item.head?.operationId && item.head.operationId === item.get?.operationId)
      item.head = { ...item.head, operationId: item.head.operationId.replace(/^get/, 'head') };
    else if (item.head?.operationId?.endsWith('-head'))
      item.head = { ...item.head, operationId: item.head.operationId.slice(0, -'-head'.length) };
  }
  for (const name of Object.keys(schemas)) schemas[name] = anyOfAnything(schemas[name]!) as JsonSchema;
  return { ...doc, tags: [...TAGS] };
}

function problemSchema(base: JsonSchema): JsonSchema {
  const props = (base.properties ?? {}) as Record<string, JsonSchema>;
  return {
    ...base,
    description:
      'An error (RFC 9457 problem details), sent as application/problem+json. `code` is stable; `title` and ' +
      '`detail` are for people.',
    properties: {
      ...props,
      type: { ...props.type, format: 'uri', description: 'A URI naming the kind of problem (by its code)' },
      title: { ...props.title, description: 'A short summary of the kind of problem' },
      status: { type: 'integer', minimum: 400, maximum: 599, description: 'The HTTP status' },
      detail: { ...props.detail, description: 'What went wrong with this request' },
      code: { type: 'string', enum: Object.keys(ERROR_STATUS), description: 'The stable error code' },
      requestId: { ...props.requestId, description: 'The request id (also in the `X-Request-Id` header)' },
      errors: { ...props.errors, description: 'Per field, with `validation_failed`' },
    },
    examples: [
      {
        type: 'https://vodcloud.dev/problems/not_found',
        title: 'Not Found',
        status: 404,
        detail: 'Video not found',
        code: 'not_found',
        requestId: '4f1c2b7e-2d4a-4c55-9f0e-7f0d3c1a9b21',
      },
    ],
  };
}

/** `anyOf` with an empty schema (zod's `unknown().nullable()`) accepts anything: written as `{}`. */
function anyOfAnything(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(anyOfAnything);
  if (!v || typeof v !== 'object') return v;
  const o = v as JsonSchema;
  if (
    Array.isArray(o.anyOf) &&
    o.anyOf.some((x) => x && typeof x === 'object' && Object.keys(x).length === 0)
  ) {
    const { anyOf: _a, ...rest } = o;
    return rest;
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, anyOfAnything(x)]));
}
