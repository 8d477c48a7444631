import { createHash, timingSafeEqual } from 'node:crypto';
import type { AppContext } from '../../context';
import { bearerToken } from '../../http/auth';
import type { ZodApp } from '../../http/types';
import { AppError } from '../../lib/errors';

const HEALTH_TIMEOUT_MS = 3000;

async function timed(check: () => Promise<{ ok: boolean; detail: string }>) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: boolean; detail: string }>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `no answer within ${HEALTH_TIMEOUT_MS} ms` }),
      HEALTH_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([check().catch((err: Error) => ({ ok: false, detail: err.message })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest();

/** Whether the request carries `Bearer <metrics token>` (compared in constant time). */
function metricsAllowed(token: string, header: string | undefined): boolean {
  const given = bearerToken(header);
  return typeof given === 'string' && timingSafeEqual(sha(given), sha(token));
}

export function systemRoutes(app: ZodApp, ctx: AppContext): void {
  const { metricsToken } = ctx.config;
  const hide = { hide: true };
  app.get('/livez', { schema: hide }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: hide }, async (_req, reply) => {
    const results = await Promise.all(
      ctx.health.map(async (h) => ({ name: h.name, ...(await timed(h.check)) })),
    );
    const ok = results.every((r) => r.ok);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: results });
  });
  // Public unless VOD_METRICS_TOKEN is set; /livez and /readyz stay public (probes carry no credentials).
  app.get('/metrics', { schema: hide }, async (req, reply) => {
    if (metricsToken && !metricsAllowed(metricsToken, req.headers.authorization))
      throw new AppError('unauthorized', 'GET /metrics needs Authorization: Bearer <VOD_METRICS_TOKEN>', {
        headers: { 'www-authenticate': 'Bearer realm="metrics"' },
      });
    reply.type(app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });
  // The API's document is the api role's (http/plugins.ts): other nodes have none to serve.
  if (ctx.config.roles.includes('api')) app.get('/openapi.json', { schema: hide }, async () => app.swagger());
}
