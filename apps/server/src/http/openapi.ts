// The OpenAPI document's shape beyond what the zod schemas give: every operation's error responses derived
// from its route (access, parameters, body, rate limit, Idempotency-Key), all as application/problem+json
// with the Problem schema; routes that serve files (playback, embed, tus, the source download) described by
// a `doc` fragment on their route; the components cleaned of what makes the document invalid.
import type { FastifySchema, RouteOptions } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { Config } from '../config';

export type JsonSchema = Record<string, unknown>;

export interface DocParam {
  description: string;
  schema?: JsonSchema;
  required?: boolean;
}

/**
 * What a route that is not described by zod schemas (it streams files, or parses its own body) tells the
 * document. Only the document reads it: validation stays the handler's.
 */
export interface RouteDoc {
  /** Path parameters: name → description (strings). */
  params?: Record<string, string>;
  query?: Record<string, DocParam>;
  headers?: Record<string, DocParam>;
  /** A request body: media type → schema. */
  body?: { description?: string; content: Record<string, JsonSchema> };
  /** Responses other than the derived errors: status → description, media type → schema, headers. */
  responses: Record<
    string,
    { description: string; content?: Record<string, JsonSchema>; headers?: Record<string, DocParam> }
  >;
  /** Error statuses the handler answers beyond those derived from the route (e.g. 403 for a token). */
  errors?: number[];
  /** The name the route's `*` takes in the document's path (`/tus/*` → `/tus/{uploadId}`). */
  wildcard?: string;
  /** Errors may also be text/plain (tus protocol errors, which tus clients read). */
  plainErrors?: boolean;
  /** The 200 response is also text/csv (`?format=csv`), beside its JSON schema. */
  csv?: boolean;
}

declare module 'fastify' {
  interface FastifySchema {
    /** The document's description of a route without zod schemas (see RouteDoc). */
    doc?: RouteDoc;
  }
  interface FastifyContextConfig {
    /** Idempotency-Key is honoured (default: POST routes that answer 201; see modules/idempotency). */
    idempotent?: boolean;
  }
}

/** A binary body of the given media type. */
export const binary = { type: 'string', format: 'binary' } as const;
/** A text body. */
export const text = { type: 'string' } as const;

/** The tags of the document, in order, with what each groups. */
export const TAGS = [
  { name: 'tenants', description: 'Tenants and their API keys (platform admin key)' },
  {
    name: 'sessions',
    description: 'Signing in and out with email and password: the session cookie and its CSRF token',
  },
  { name: 'members', description: "The tenant's users and their roles, invitations and password resets" },
  { name: 'api-keys', description: "The tenant's own API keys (for its admins and owners)" },
  { name: 'uploads', description: 'Resumable uploads: the upload resource and the tus 1.0 endpoint' },
  { name: 'videos', description: 'Videos: import, list, change, delete, transcode again, snapshots' },
  { name: 'templates', description: 'Transcoding templates (renditions, HLS, MP4, watermark)' },
  { name: 'categories', description: 'Categories of videos' },
  {
    name: 'playback',
    description:
      'Signing keys, playback tokens, referrer policies, and the delivery of HLS, MP4, thumbnails and storyboards (stream role)',
  },
  { name: 'embed', description: 'The embeddable player page and its script (stream role)' },
  { name: 'beacons', description: 'Quality-of-experience events sent by players' },
  { name: 'webhooks', description: 'Webhook endpoints and their deliveries (Standard Webhooks signatures)' },
  { name: 'recordings', description: 'Live recordings: recorder hooks (nginx-rtmp, SRS) and imports by URL' },
  { name: 'audit', description: 'The audit log of write and admin requests' },
  {
    name: 'statistics',
    description: 'Views, quality of experience and usage, rolled up per minute, hour and day',
  },
  {
    name: 'detection',
    description: 'Quality checks and content moderation of videos: results, policy, the review queue',
  },
  { name: 'cluster', description: 'Cluster, call statistics and alerts (platform admin key)' },
] as const;

/** The URL length past which a request is refused with 414 (app.ts). */
export const MAX_URL_LENGTH = 8192;

/** Paths the rate limit (plugins.ts) does not apply to: health checks, RPC, playback, presigned storage. */
export function rateLimitExempt(path: string): boolean {
  return (
    ['/livez', '/readyz', '/metrics'].includes(path) ||
    path.startsWith('/internal/rpc/') ||
    /^\/(hls|mp4|thumb|storyboard|embed|_storage)\//.test(path)
  );
}

/** Whether a route honours Idempotency-Key: `config.idempotent`, else a POST answering 201 with a key. */
export function isIdempotentRoute(route: {
  method: string | string[];
  config?: { idempotent?: boolean; access?: string };
  schema?: { response?: unknown };
}): boolean {
  if (route.config?.idempotent !== undefined) return route.config.idempotent;
  const methods = [route.method].flat();
  const access = route.config?.access ?? 'public';
  const response = route.schema?.response as Record<string, unknown> | undefined;
  return methods.includes('POST') && access !== 'public' && response !== undefined && '201' in response;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid (`validation_failed` with `errors`, `idempotency_key_invalid`, `bad_request`)',
  401: 'No API key or session, or a malformed, unknown, revoked or expired one (`unauthorized`)',
  403: "The key lacks the scope or the user the role this needs, a session's CSRF check failed, or the token does not allow it (`forbidden`)",
  404: "No such resource, or another tenant's (`not_found`)",
  409: 'A conflict with the current state (`conflict`), or a request with this Idempotency-Key is still in progress (`idempotency_key_in_progress`)',
  410: 'Gone (`gone`)',
  412: 'A precondition failed (`precondition_failed`)',
  413: 'The body is larger than allowed (`payload_too_large`)',
  414: `The URL is longer than ${MAX_URL_LENGTH} characters (\`uri_too_long\`)`,
  415: 'The body is not of a media type this operation takes (`unsupported_media`)',
  416: 'The range cannot be satisfied (`range_not_satisfiable`)',
  422: 'The Idempotency-Key was used with another request (`idempotency_key_reused`)',
  429: 'Too many requests: retry after `Retry-After` seconds (`rate_limited`)',
  500: 'An internal error (`internal`)',
  503: 'A dependency is unavailable or busy: retry after `Retry-After` seconds (`unavailable`)',
};

// As @fastify/swagger reads response headers: each a schema with its description.
/** Who may call an operation, by its route's `config.access` (http/auth.ts). */
const ACCESS_TEXT: Record<string, string> = {
  read: 'Needs a tenant API key (scope `read`) or a session of any role.',
  write: 'Needs a tenant API key with the `write` scope, or a session of role `member` or higher.',
  settings:
    'Needs a tenant API key (`read` to read, `write` to change), or a session of role `admin` or `owner`.',
  admin: 'Needs the platform admin key, or a session of a platform admin.',
  manage:
    'Needs the platform admin key or user, a tenant API key with the `write` scope, or a session of role `admin` or `owner` (a tenant sees its own only).',
  session: 'Needs a signed-in session (the `vod_session` cookie); API keys have none.',
};

const RETRY_AFTER = {
  'Retry-After': { type: 'integer', minimum: 1, description: 'Seconds to wait before retrying' },
};

function problemResponse(status: number, plain = false): Record<string, unknown> {
  return {
    description: ERROR_DESCRIPTIONS[status] ?? 'An error',
    content: {
      'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
      ...(plain ? { 'text/plain': { schema: { type: 'string' } } } : {}),
    },
    ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
  };
}

const IDEMPOTENCY_HEADER = {
  type: 'object',
  properties: {
    'Idempotency-Key': {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x20-\\x7E]+$',
      description:
        'Makes the request safe to retry: the first response is kept 24 h per tenant (or admin key) and key, ' +
        'and a repeat of the same request gets it again with `Idempotent-Replayed: true`. The same key with ' +
        'another request is 422 `idempotency_key_reused`; while the first is in progress, 409 ' +
        '`idempotency_key_in_progress`.',
    },
  },
};

/** The error statuses a route can answer, derived from what it is. */
export function errorStatuses(
  route: Pick<RouteOptions, 'url' | 'method' | 'config' | 'schema'>,
  config: Pick<Config, 'rateLimitPerMinute' | 'rateLimitAnonPerMinute'>,
): number[] {
  const out = new Set<number>([414]);
  const access = (route.config as { access?: string } | undefined)?.access ?? 'public';
  const schema = (route.schema ?? {}) as { body?: unknown; querystring?: unknown; doc?: RouteDoc };
  if (schema.body || schema.querystring) out.add(400);
  if (schema.body) for (const s of [413, 415]) out.add(s);
  if (access !== 'public') for (const s of [401, 403]) out.add(s);
  if (/[:*]/.test(route.url)) out.add(404);
  const path = route.url.replace(/:[^/]+|\*/g, 'x');
  if (
    (config.rateLimitPerMinute > 0 && !rateLimitExempt(path)) ||
    (access !== 'public' && config.rateLimitAnonPerMinute > 0)
  )
    out.add(429);
  if (isIdempotentRoute(route as never)) for (const s of [400, 409, 422]) out.add(s);
  for (const s of schema.doc?.errors ?? []) out.add(s);
  return [...out];
}

export const withoutMetaKeys = (s: JsonSchema): JsonSchema => {
  const { $schema: _s, $id: _i, ...rest } = s;
  return rest;
};

/** An object schema of named parameters, as @fastify/swagger reads params, querystring and headers. */
function paramsObject(params: Record<string, DocParam>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, p] of Object.entries(params)) {
    properties[name] = { ...withoutMetaKeys(p.schema ?? { type: 'string' }), description: p.description };
    if (p.required) required.push(name);
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}

type TransformInput = Parameters<typeof jsonSchemaTransform>[0];

/** The per-route transform: zod schemas to JSON schemas, then the route's `doc`, derived errors and headers. */
export function routeTransform(config: Config) {
  return (input: TransformInput) => {
    const { doc, ...zodSchema } = (input.schema ?? {}) as { doc?: RouteDoc } & Record<string, unknown>;
    const out = jsonSchemaTransform({ ...input, schema: zodSchema } as TransformInput) as {
      schema: Record<string, unknown> & { hide?: boolean; response?: Record<string, unknown> };
      url: string;
    };
    const s = out.schema;
    if (!s || s.hide) return out;
    if (doc?.wildcard) out.url = out.url.replace(/\*$/, `:${doc.wildcard}`);
    if (doc?.params)
      s.params = paramsObject(
        Object.fromEntries(
          Object.entries(doc.params).map(([k, d]) => [k, { description: d, required: true }]),
        ),
      );
    if (doc?.query) s.querystring = paramsObject(doc.query);
    if (doc?.headers) s.headers = paramsObject(doc.headers);
    if (doc?.body) {
      s.consumes = Object.keys(doc.body.content);
      s.body = { ...withoutMetaKeys(Object.values(doc.body.content)[0]!), description: doc.body.description };
    }
    const response: Record<string, unknown> = { ...(s.response ?? {}) };
    for (const [status, r] of Object.entries(doc?.responses ?? {}))
      response[status] = {
        description: r.description,
        ...(r.content
          ? {
              content: Object.fromEntries(
                Object.entries(r.content).map(([type, schema]) => [
                  type,
                  { schema: withoutMetaKeys(schema) },
                ]),
              ),
            }
          : { type: 'null' }),
        ...(r.headers ? { headers: paramsObject(r.headers).properties } : {}),
      };
    if (doc?.csv && response['200'])
      response['200'] = {
        description: 'OK',
        content: {
          'application/json': { schema: response['200'] },
          'text/csv': { schema: { type: 'string', description: 'RFC 4180, a header line first' } },
        },
      };
    const route = input.route as RouteOptions;
    const access = (route.config as { access?: string } | undefined)?.access ?? 'public';
    const who = ACCESS_TEXT[access] ?? '';
    s.description = [s.description ?? s.summary, who].filter(Boolean).join('\n\n');
    const idempotent = isIdempotentRoute(route as never);
    if (idempotent) {
      s.headers = IDEMPOTENCY_HEADER;
      for (const [status, r] of Object.entries(response))
        if (/^2/.test(status) && r && typeof r === 'object')
          response[status] = {
            ...(r as object),
            headers: {
              'Idempotent-Replayed': {
                type: 'string',
                enum: ['true'],
                description:
                  'Present when this is the stored response of an earlier request with the same Idempotency-Key',
              },
            },
          };
    }
    for (const status of Object.keys(response)) if (/^[45]/.test(status)) delete response[status];
    for (const status of [...errorStatuses(route, config), ...declaredErrors(s.response)].sort())
      response[String(status)] = problemResponse(status, doc?.plainErrors);
    s.response = response;
    return out;
  };
}

/** Error statuses a route declared with zod response schemas (e.g. 409, 416, 503). */
const declaredErrors = (response: Record<string, unknown> | undefined) =>
  Object.keys(response ?? {})
    .filter((s) => /^[45]\d\d$/.test(s))
    .map(Number);

type DocResponses = RouteDoc['responses'];

/**
 * The responses of a route serving a stored object (stream/send-object.ts): 200 (and 206 with Range), 304
 * for a matching If-None-Match, and with `redirect` 302 to a presigned URL. `types`: its media types.
 */
export function fileResponses(
  what: string,
  types: string[],
  opts: { range?: boolean; redirect?: boolean } = {},
): DocResponses {
  const content = Object.fromEntries(types.map((t) => [t, binary]));
  const headers: Record<string, DocParam> = {
    ETag: { description: 'The entity tag (If-None-Match, If-Range)' },
    'Cache-Control': { description: 'How long the response may be cached' },
  };
  const out: DocResponses = {
    200: { description: what, content, headers },
    304: { description: 'Not modified (the If-None-Match matched)' },
  };
  if (opts.range)
    out[206] = {
      description: `Part of it (Range)`,
      content,
      headers: { ...headers, 'Content-Range': { description: '`bytes start-end/size`' } },
    };
  if (opts.redirect)
    out[302] = {
      description: 'With S3 storage and VOD_STREAM_REDIRECT=presigned: a presigned URL valid 5 minutes',
      headers: { Location: { description: 'The presigned URL' } },
    };
  return out;
}

/** The `{pid}` path parameter of playback URLs. */
export const PLAYBACK_ID_PARAM = 'The playback id of the video (`playback.id`)';

/**
 * The operation of a playback URL's older form without `{gen}` (answered from the served generation), from
 * the operation of its form with the generation: the same document but for the parameter.
 */
export function ofServedGeneration(
  schema: FastifySchema,
  operationId: string,
  summary: string,
): FastifySchema {
  const { gen: _gen, ...params } = schema.doc?.params ?? {};
  return { ...schema, operationId, summary, doc: { ...schema.doc!, params } };
}

/** The `token` query parameter of playback URLs (a signed video's playback token, a JWT). */
export const TOKEN_QUERY: Record<string, DocParam> = {
  token: {
    description:
      "A signed video's playback token (RS256 JWT: `kid` a signing key, `sub` the playback id, `aud` v, t or s, `exp`)",
    schema: { type: 'string', maxLength: 4096 },
  },
};
