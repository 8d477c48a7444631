import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ConsoleFiles, consoleFiles } from './assets';

/**
 * Content-Security-Policy of the console's documents: scripts only from this origin (the build has no inline
 * script), no framing. Inline styles are allowed: the dialog primitives set style attributes and a scroll
 * lock style element. Media and images may come from a CDN (VOD_CDN_URL), over https.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: https:",
  "media-src 'self' blob: https:",
  "connect-src 'self' https:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** First path segments the console never answers (besides those of every registered route). */
const RESERVED = ['v1', 'hooks', 'hls', 'mp4', 'embed', 'docs', 'openapi.json', 'metrics', 'livez', 'readyz'];

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vodcloud: console not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The web console is not built</h1>
<p>This server answers the API, but the console's files are missing. In the checkout, run
<code>npm run build:console</code> (or <code>npm run build</code>), then reload this page.</p>
<p>The API: <a href="/docs">/docs</a> · <a href="/openapi.json">/openapi.json</a></p>
</body></html>
`;

const firstSegment = (url: string) => url.split('/')[1] ?? '';

function sendFile(
  req: FastifyRequest,
  reply: FastifyReply,
  file: ConsoleFiles extends Map<string, infer F> ? F : never,
) {
  reply.header('etag', file.etag).header('content-type', file.type);
  reply.header('cache-control', file.hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.code(200).send(file.body);
}

/**
 * The web console on the api role (apps/console, built into static files): answers, from the not-found
 * handler, the GET or HEAD of a path no route matched when it is a console file (hashed assets cached for a
 * year) or a client route asked by a browser (index.html, never cached, with CONSOLE_CSP). Paths under the first segment of any
 * registered route (`/v1`, `/hls`, `/docs`, …) and unknown files (a path with an extension) are left to the
 * 404 problem. Call before the routes are registered (it watches them); returns the fallback, true when it
 * answered.
 */
export function consoleFallback(
  app: FastifyInstance,
  load: () => Promise<ConsoleFiles | undefined> = () => consoleFiles(),
): (req: FastifyRequest, reply: FastifyReply) => Promise<boolean> {
  const reserved = new Set(RESERVED);
  app.addHook('onRoute', (r) => {
    const first = firstSegment(r.url);
    if (first && first !== '*' && !first.startsWith(':')) reserved.add(first);
  });
  return async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url.split('?')[0] ?? '/').replace(/\/{2,}/g, '/');
    if (reserved.has(firstSegment(path))) return false;
    const files = await load();
    const file = files?.get(path);
    if (file && path !== '/index.html') {
      await sendFile(req, reply, file);
      return true;
    }
    const last = path.slice(path.lastIndexOf('/') + 1);
    if (last.includes('.') && path !== '/index.html') return false;
    // A client route is a browser's navigation (it accepts HTML); an API client asking an unknown path
    // (curl, fetch, a path normalised from `../`) still gets the 404 problem. `/` answers either way.
    if (path !== '/' && !/\btext\/html\b/.test(String(req.headers.accept ?? ''))) return false;
    reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'same-origin');
    const index = files?.get('/index.html');
    if (!index) {
      await reply
        .code(503)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(NOT_BUILT);
      return true;
    }
    await reply
      .header('cache-control', 'no-cache')
      .header('etag', index.etag)
      .type(index.type)
      .code(200)
      .send(index.body);
    return true;
  };
}
