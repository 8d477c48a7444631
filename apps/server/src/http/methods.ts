import type { FastifyInstance } from 'fastify';

const escapeRegExp = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** A route URL as a regular expression over paths: `:param` is one segment, `*` the rest. */
function patternOf(url: string): RegExp | undefined {
  // Regex parameters (`:id(^\\d+)`) and multi-parameter segments are not used by this app's routes.
  if (/:[A-Za-z0-9_]+\(|::/.test(url)) return undefined;
  const source = url
    .split(/(:[A-Za-z0-9_]+|\*)/)
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : escapeRegExp(part)))
    .join('');
  return new RegExp(`^${source}$`);
}

/**
 * Records every route's methods and URL so that a request the router did not match can be told apart: a
 * known path asked with another method (405 with `Allow`) or no such path (404). Catch-all routes (the
 * CORS preflight `OPTIONS *`) do not make a path known; their methods join the `Allow` of known ones.
 * Register before the routes.
 */
export function routeMethods(app: FastifyInstance): (path: string) => string[] {
  const routes: Array<{ re: RegExp; methods: string[] }> = [];
  const everywhere = new Set<string>();
  app.addHook('onRoute', (r) => {
    const methods = [r.method].flat().map((m) => m.toUpperCase());
    if (r.url === '*' || r.url === '/*') {
      for (const m of methods) everywhere.add(m);
      return;
    }
    const re = patternOf(r.url);
    if (re) routes.push({ re, methods });
  });
  return (path) => {
    const allowed = new Set<string>();
    for (const r of routes) if (r.re.test(path)) for (const m of r.methods) allowed.add(m);
    if (allowed.size === 0) return [];
    if (allowed.has('GET')) allowed.add('HEAD');
    for (const m of everywhere) allowed.add(m);
    return [...allowed].sort();
  };
}
