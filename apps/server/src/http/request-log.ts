import { AsyncResource } from 'node:async_hooks';
import {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { type RecentWrites, readScope, withReadScope } from '../db/read-routing';
import { OWN_CONTEXT, withLogFields } from '../logger';

/** A request id a client may choose (X-Request-Id); any other is replaced by a new one. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Routes polled by probes and scrapers: their request lines are logged at debug, not info. */
const PROBE_ROUTES = new Set(['/livez', '/readyz', '/metrics']);
// From the URL's path (the three routes are static), not `req.routeOptions`: that getter builds an object
// on every call, and this runs twice per request.
const isProbe = (req: FastifyRequest) => {
  const q = req.url.indexOf('?');
  return PROBE_ROUTES.has(q < 0 ? req.url : req.url.slice(0, q));
};

/**
 * Fastify's request lines ("incoming request", "request completed"), at debug for health and metrics
 * probes (the sentinel probes every node's /livez each interval; Kubernetes and Prometheus poll too), so an
 * idle node's info log stays quiet. A probe answered with a 5xx (not ready) keeps info.
 */
export class RequestLogController extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (isProbe(request)) request.log.debug({ req: request }, 'incoming request');
    else super.incomingRequest(request, reply);
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (!error && isProbe(request) && reply.statusCode < 500)
      reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
    else super.requestCompleted(error, request, reply);
  }
}

/**
 * A request's URL as logged: secrets that ride in URLs are replaced by `[redacted]` — the one-time tokens
 * of invitation and password-reset links (`/v1/invitations/<token>`, the console's `/invite/<token>`) and
 * query parameters named `token` or `…Token` (playback tokens, `thumbnailToken`, …).
 */
export function loggedUrl(url: string): string {
  return url
    .replace(/^(\/v1\/invitations\/|\/invite\/)[^/?#]+/, '$1[redacted]')
    .replace(/([?&](?:[A-Za-z]*Token|token)=)[^&#]*/g, '$1[redacted]');
}

/** Fastify's request fields (method, url, host, address, port), with loggedUrl's redactions. */
const reqSerializer = (req: FastifyRequest) => ({
  method: req.method,
  url: loggedUrl(req.url),
  host: req.host,
  remoteAddress: req.ip,
  remotePort: req.socket?.remotePort,
});

/** Fastify's per-request logger (it binds `reqId`, the id sent back as x-request-id), marked as such. */
export function requestChildLogger(
  logger: FastifyBaseLogger,
  bindings: Parameters<FastifyBaseLogger['child']>[0],
  opts: Parameters<FastifyBaseLogger['child']>[1],
): FastifyBaseLogger {
  const child = logger.child(bindings, {
    ...opts,
    serializers: { ...opts?.serializers, req: reqSerializer as (value: unknown) => unknown },
  });
  (child as unknown as Record<symbol, boolean>)[OWN_CONTEXT] = true;
  return child;
}

const scope = Symbol('vodcloud.requestLogScope');
type Scoped = FastifyRequest & { [scope]?: AsyncResource };

/**
 * Lines logged in the course of a request through another logger than `req.log` (services log with the
 * process's root logger) carry its `reqId` too: the request's hooks and handler run in a log context
 * (logger.ts). As in @fastify/request-context (written here so requests and jobs share one context): the
 * handler runs from the request body's 'end' event, outside the context entered in onRequest, so
 * preValidation enters it again. Registered before every other hook.
 *
 * With a read replica (`readScopes`), the request also runs in a read scope (db/read-routing.ts): a write
 * request reads from the primary, and auth names its tenant for read-your-writes.
 */
export function registerRequestLogContext(app: FastifyInstance, opts: { readScopes?: boolean } = {}): void {
  // Entered first, so the log context and the AsyncResource below carry it; without a replica, no hook at all.
  if (opts.readScopes)
    app.addHook('onRequest', (req, _reply, done) =>
      withReadScope({ primary: req.method !== 'GET' && req.method !== 'HEAD' }, done),
    );
  app.addHook('onRequest', (req, _reply, done) => {
    // Without a body to parse (GET, HEAD: every playback request) Fastify runs the rest of the hooks and the
    // handler synchronously from `done`, so the context entered here is enough; an AsyncResource per request
    // cost the data plane ~8 % of its playlist throughput (bench/delivery.ts).
    if (req.method === 'GET' || req.method === 'HEAD') {
      withLogFields({ reqId: req.id }, done);
      return;
    }
    withLogFields({ reqId: req.id }, () => {
      const resource = new AsyncResource('vodcloud-request');
      (req as Scoped)[scope] = resource;
      resource.runInAsyncScope(done, req.raw);
    });
  });
  app.addHook('preValidation', (req, _reply, done) => {
    const resource = (req as Scoped)[scope];
    if (resource) resource.runInAsyncScope(done, req.raw);
    else done();
  });
}

/**
 * After auth: the read scope learns the request's tenant, and a write marks its tenant (when it starts and when
 * it is answered) so that the tenant's next reads, on any node, see it (db/read-routing.ts).
 */
export function registerReadYourWrites(app: FastifyInstance, writes: RecentWrites): void {
  app.addHook('onRequest', async (req) => {
    const tenantId = req.principal?.tenantId;
    const s = readScope();
    if (!tenantId || !s) return;
    s.tenantId = tenantId;
    if (s.primary) writes.mark(tenantId);
  });
  app.addHook('onResponse', async (req) => {
    const tenantId = req.principal?.tenantId;
    if (tenantId && req.method !== 'GET' && req.method !== 'HEAD') writes.mark(tenantId);
  });
}
