// What the security suites (test/security) are generated from: the server's own route table, its
// OpenAPI document, JSON-schema validation of responses, and raw HTTP requests that send a path exactly as
// written (fetch would normalise `../` and re-encode it).
import http from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ---------------------------------------------------------------------------------------------------------
// The route table
// ---------------------------------------------------------------------------------------------------------

/** One route as Fastify registered it (recorded by an onRoute hook). */
export interface RouteRecord {
  method: string;
  /** Fastify's pattern: `/v1/videos/:id`, `/tus/*`. */
  url: string;
  /** `config.access` of the route (what the auth hook enforces); `public` when unset. */
  access: 'public' | 'read' | 'write' | 'settings' | 'admin' | 'manage' | 'session';
  /** Hidden from the OpenAPI document (`schema.hide`). */
  hidden: boolean;
}

const TABLE = Symbol.for('vodcloud.test.routeTable');
type WithTable = typeof globalThis & { [TABLE]?: RouteRecord[] };

/** Every route registered by every Fastify instance made since the test file started. */
export function recordedRoutes(): RouteRecord[] {
  const g = globalThis as WithTable;
  g[TABLE] ??= [];
  return g[TABLE];
}

interface OnRouteOptions {
  method: string | string[];
  url: string;
  config?: { access?: RouteRecord['access'] };
  schema?: { hide?: boolean };
}

/**
 * Wraps the `fastify` module so that every instance gets an onRoute hook recording its routes, before
 * buildApp registers any. For `vi.mock('fastify', ...)` in a test file: the server's code is unchanged
 * and the table is exactly what Fastify routes (url, methods, param names, `config.access`), which
 * `printRoutes()` cannot give (it merges parameter names, `/:name|:gen`, and knows no access).
 */
export function withRouteTable<M extends { default: unknown }>(mod: M): M {
  const original = mod.default as (...args: unknown[]) => {
    addHook(name: 'onRoute', fn: (r: OnRouteOptions) => void): unknown;
  };
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const app = original.apply(this, args);
    app.addHook('onRoute', (r) => {
      for (const method of [r.method].flat())
        recordedRoutes().push({
          method,
          url: r.url,
          access: r.config?.access ?? 'public',
          hidden: r.schema?.hide === true,
        });
    });
    return app;
  };
  Object.assign(wrapped, original);
  return { ...mod, default: wrapped, fastify: wrapped };
}

/** The parameters of a Fastify pattern, in order (`*` for a wildcard). */
export function patternParams(url: string): string[] {
  return url
    .split('/')
    .filter((s) => s.startsWith(':') || s === '*')
    .map((s) => (s === '*' ? '*' : s.slice(1)));
}

/** A Fastify pattern with its parameters replaced by raw path fragments (inserted as given, not encoded). */
export function fillPattern(url: string, values: Record<string, string>): string {
  return url
    .split('/')
    .map((s) => {
      if (s === '*') return values['*'] ?? '';
      if (!s.startsWith(':')) return s;
      const v = values[s.slice(1)];
      if (v === undefined) throw new Error(`no value for ${s} of ${url}`);
      return v;
    })
    .join('/');
}

/** `/v1/videos/{id}` (OpenAPI) → `/v1/videos/:id` (Fastify). */
export const toPattern = (openapiPath: string) => openapiPath.replace(/\{([^}]+)\}/g, ':$1');

// ---------------------------------------------------------------------------------------------------------
// The OpenAPI document
// ---------------------------------------------------------------------------------------------------------

export type JsonSchema = Record<string, unknown>;

export interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema: JsonSchema }> }>;
}

export interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
}

/** One documented operation. */
export interface Op {
  method: string;
  /** The OpenAPI path, `/v1/videos/{id}`. */
  path: string;
  /** The Fastify pattern, `/v1/videos/:id`. */
  pattern: string;
  operation: Operation;
  pathParams: Parameter[];
  query: Parameter[];
  /** The JSON body's schema, if the operation takes one. */
  body?: JsonSchema;
  bodyRequired: boolean;
  /** Documented statuses. */
  statuses: number[];
}

export function operations(doc: OpenApiDoc): Op[] {
  const ops: Op[] = [];
  for (const [p, byMethod] of Object.entries(doc.paths))
    for (const [method, operation] of Object.entries(byMethod)) {
      const params = operation.parameters ?? [];
      ops.push({
        method: method.toUpperCase(),
        path: p,
        pattern: toPattern(p),
        operation,
        pathParams: params.filter((x) => x.in === 'path'),
        query: params.filter((x) => x.in === 'query'),
        body: operation.requestBody?.content['application/json']?.schema,
        bodyRequired: operation.requestBody?.required === true,
        statuses: Object.keys(operation.responses).map(Number),
      });
    }
  return ops;
}

/** Follows `#/components/schemas/X` references. */
export function deref(doc: OpenApiDoc, s: JsonSchema): JsonSchema {
  let cur = s;
  for (let i = 0; i < 20 && typeof cur.$ref === 'string'; i++) {
    const name = (cur.$ref as string).replace('#/components/schemas/', '');
    const next = doc.components.schemas[name];
    if (!next) throw new Error(`unresolved ${cur.$ref as string}`);
    cur = next;
  }
  return cur;
}

// ---------------------------------------------------------------------------------------------------------
// Response validation (ajv, JSON Schema 2020-12, against the schemas of /openapi.json)
// ---------------------------------------------------------------------------------------------------------

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (a: Ajv2020) => void;

/** The document's schemas without the `$schema`/`$id` the zod transform puts on each component. */
function stripIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripIds);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== '$id' && k !== '$schema') out[k] = stripIds(x);
    return out;
  }
  return v;
}

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

export interface ResponseValidator {
  /** The validator of a documented response body, or null when the response documents no content. */
  forResponse(op: Op, status: number): { contentType: string; validate: ValidateFunction } | null;
  problem: ValidateFunction;
}

export function responseValidator(doc: OpenApiDoc): ResponseValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({
    $id: 'openapi',
    ...(stripIds({ paths: doc.paths, components: doc.components }) as object),
  });
  const cache = new Map<string, { contentType: string; validate: ValidateFunction } | null>();
  return {
    forResponse(op, status) {
      const k = `${op.method} ${op.path} ${status}`;
      if (!cache.has(k)) {
        const r = op.operation.responses[String(status)];
        const [contentType] = Object.keys(r?.content ?? {});
        cache.set(
          k,
          contentType === undefined
            ? null
            : {
                contentType,
                validate: ajv.compile({
                  $ref: `openapi#/${pointer('paths', op.path, op.method.toLowerCase(), 'responses', String(status), 'content', contentType, 'schema')}`,
                }),
              },
        );
      }
      return cache.get(k)!;
    },
    problem: ajv.compile({ $ref: 'openapi#/components/schemas/Problem' }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Raw HTTP
// ---------------------------------------------------------------------------------------------------------

export interface RawRequest {
  method: string;
  /** Sent exactly as given (dot segments and percent-escapes included). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  contentType: string;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** One HTTP request over a socket to the listening server, path sent verbatim. */
export function send(baseUrl: string, r: RawRequest, timeoutMs = 30_000): Promise<RawResponse> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: r.method,
        path: r.path,
        agent,
        headers: {
          ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}),
          ...r.headers,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            contentType: String(res.headers['content-type'] ?? ''),
            text,
            json,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${r.method} ${r.path}`)));
    req.on('error', reject);
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}

export const isProblem = (res: RawResponse) => /^application\/problem\+json\b/.test(res.contentType);

/**
 * What is wrong with an error response by the contract (docs/api.md): problem+json, a `code` whose status is
 * the response's, the request id of the `x-request-id` header. Empty when it is right.
 */
export function problemDefects(res: RawResponse, codeStatus: Record<string, number>): string[] {
  const out: string[] = [];
  if (!isProblem(res)) return [`content-type ${res.contentType || '(none)'}, not application/problem+json`];
  const body = res.json as { code?: unknown; status?: unknown; requestId?: unknown } | undefined;
  if (!body || typeof body.code !== 'string') return ['problem without a code'];
  if (codeStatus[body.code] !== res.status) out.push(`code ${body.code} on a ${res.status}`);
  if (body.status !== res.status) out.push(`body status ${String(body.status)} on a ${res.status}`);
  const rid = res.headers['x-request-id'];
  if (typeof body.requestId !== 'string' || !body.requestId) out.push('problem without requestId');
  else if (rid !== body.requestId) out.push(`requestId ${body.requestId} differs from x-request-id ${rid}`);
  return out;
}
