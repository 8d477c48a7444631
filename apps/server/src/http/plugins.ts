import { createHash } from 'node:crypto';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { Config } from '../config';
import { AppError } from '../lib/errors';
import { bearerToken } from './auth';
import { VERSION } from './version';

/** The HTTP app's plugins: CORS, the rate limit (when configured), the OpenAPI document and its UI at /docs. */
export async function registerPlugins(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(cors, {
    origin: config.corsOrigins === '*' ? true : config.corsOrigins,
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'],
    exposedHeaders: ['x-request-id', 'retry-after', 'location'],
    maxAge: 600,
  });

  if (config.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      max: config.rateLimitPerMinute,
      timeWindow: 60_000,
      // Per API key (hashed, whatever the scheme's case) else per address. Requests that fail authentication
      // never reach this limit: they count per address in auth.ts (VOD_RATE_LIMIT_ANON_PER_MINUTE).
      keyGenerator: (req) => {
        const token = bearerToken(req.headers.authorization);
        return token
          ? `k:${createHash('sha256').update(token).digest('base64url').slice(0, 22)}`
          : `ip:${req.ip}`;
      },
      // Playback is not limited per address: many viewers share one NAT, and a player makes a request per
      // segment. Health checks are not limited either.
      allowList: (req) => {
        const p = req.url.split('?')[0] ?? '';
        return (
          ['/livez', '/readyz', '/metrics'].includes(p) ||
          p.startsWith('/internal/rpc/') ||
          /^\/(hls|mp4|thumb|storyboard|embed|_storage)\//.test(p)
        );
      },
      errorResponseBuilder: (_req, ctx2) =>
        new AppError(
          'rate_limited',
          `Rate limit of ${ctx2.max} requests per minute exceeded; retry in ${Math.ceil(ctx2.ttl / 1000)} s`,
          {
            headers: { 'retry-after': String(Math.max(1, Math.ceil(ctx2.ttl / 1000))) },
          },
        ) as never,
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'vodcloud API',
        version: VERSION,
        description:
          'Self-hosted video-on-demand cloud. Errors are application/problem+json with a stable `code`.',
      },
      servers: config.publicUrl ? [{ url: config.publicUrl }] : [],
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key' } },
      },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    // Errors are sent as application/problem+json (problem.ts): the document says so.
    transformObject: (input) => problemContentTypes(jsonSchemaTransformObject(input as never)) as never,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
}

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
