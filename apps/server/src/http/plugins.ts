import { createHash } from 'node:crypto';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config';
import { AppError } from '../lib/errors';
import { bearerToken, SESSION_COOKIE } from './auth';
import { rateLimitExempt, routeTransform } from './openapi';
import { documentTransform } from './openapi-document';
import { VERSION } from './version';

/** Response headers a browser script may read (CORS). */
export const EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'location', 'idempotent-replayed'];

/** The HTTP app's plugins: cookies, CORS, the rate limit (when configured), the OpenAPI document and its UI at /docs (api role). */
export async function registerPlugins(app: FastifyInstance, config: Config): Promise<void> {
  // Cookies: the console's session (modules/accounts). Parsed before the rate limit keys on them.
  await app.register(cookie, { hook: 'onRequest' });
  await app.register(cors, {
    origin: config.corsOrigins === '*' ? true : config.corsOrigins,
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });

  if (config.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      max: config.rateLimitPerMinute,
      timeWindow: 60_000,
      // Per API key (hashed, whatever the scheme's case), else per session cookie, else per address. Requests that fail authentication
      // never reach this limit: they count per address in auth.ts (VOD_RATE_LIMIT_ANON_PER_MINUTE).
      keyGenerator: (req) => {
        const token = bearerToken(req.headers.authorization);
        if (token) return `k:${createHash('sha256').update(token).digest('base64url').slice(0, 22)}`;
        const session = req.headers.authorization === undefined ? req.cookies?.[SESSION_COOKIE] : undefined;
        if (session) return `s:${createHash('sha256').update(session).digest('base64url').slice(0, 22)}`;
        return `ip:${req.ip}`;
      },
      // Playback is not limited per address: many viewers share one NAT, and a player makes a request per
      // segment. Health checks are not limited either.
      allowList: (req) => rateLimitExempt(req.url.split('?')[0] ?? ''),
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

  // The document and its UI belong to the API: nodes without the api role never load them (memory per role).
  if (!config.roles.includes('api')) return;
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([
    import('@fastify/swagger'),
    import('@fastify/swagger-ui'),
  ]);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'vodcloud API',
        version: VERSION,
        description:
          'Self-hosted video-on-demand cloud. Errors are application/problem+json with a stable `code`. ' +
          'Creates take an `Idempotency-Key` header.',
        contact: { name: 'vodcloud', url: 'https://vodcloud.dev' },
        license: { name: 'MIT', identifier: 'MIT' },
      },
      // Without VOD_PUBLIC_URL the document is relative to wherever it was fetched from.
      servers: [
        config.publicUrl
          ? { url: config.publicUrl, description: 'VOD_PUBLIC_URL' }
          : { url: '/', description: 'The server this document was fetched from' },
      ],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key' },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: SESSION_COOKIE,
            description:
              'A signed-in session (POST /v1/sessions); writes also need its CSRF token in `x-csrf-token` and a same-origin Origin',
          },
        },
      },
      security: [{ apiKey: [] }, { session: [] }],
    },
    // Per route: zod → JSON schema, the route's `doc`, errors derived from the route (openapi.ts).
    transform: routeTransform(config) as never,
    transformObject: (input) => documentTransform(input as never) as never,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
}
