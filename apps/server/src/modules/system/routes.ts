import type { AppContext } from '../../context';
import type { ZodApp } from '../../http/types';

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

export function systemRoutes(app: ZodApp, ctx: AppContext): void {
  const hide = { hide: true };
  app.get('/livez', { schema: hide }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: hide }, async (_req, reply) => {
    const results = await Promise.all(
      ctx.health.map(async (h) => ({ name: h.name, ...(await timed(h.check)) })),
    );
    const ok = results.every((r) => r.ok);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: results });
  });
  app.get('/metrics', { schema: hide }, async (_req, reply) => {
    reply.type(app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });
  app.get('/openapi.json', { schema: hide }, async () => app.swagger());
}
