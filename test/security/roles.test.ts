// The role × route matrix, generated from the server's route table (recorded by the audit module's onRoute
// hook, with each route's `config.access`), not hand-picked: every authenticated route is asked by every kind
// of principal with placeholder parameters and an empty body. The auth hook answers before validation and
// handlers, so: anonymous → 401 on every non-public route; a principal → 403 exactly when its role (or key
// scope) lacks the route's access level, and never 401 or 403 when it has it (the placeholders then make a
// 400 or 404, or a 2xx). The expected access of each role is written out here, from the contract
// (docs/api.md, "Accounts and sessions"), not imported from http/auth.ts. On every database engine.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditedRoutes } from '../../apps/server/src/modules/audit';
import { startTestApp, type TestApp } from '../support/app';
import { databaseEngines, type TestDatabase } from '../support/databases';

type Access = 'read' | 'write' | 'settings' | 'admin' | 'manage' | 'session';
const ACCESS: Access[] = ['read', 'write', 'settings', 'admin', 'manage', 'session'];
const SAFE = ['GET', 'HEAD'];
const PW = 'role matrix password';
const ORIGIN = 'http://localhost:80';
type Headers = { [name: string]: string | undefined };

/** Who may pass a route of an access level, and a method (API keys differ on `settings` by method). */
const MAY: Record<string, (a: Access, method: string) => boolean> = {
  anonymous: () => false,
  viewer: (a) => a === 'read' || a === 'session',
  member: (a) => ['read', 'write', 'session'].includes(a),
  admin: (a) => a !== 'admin',
  owner: (a) => a !== 'admin',
  'platform admin user': (a) => ['admin', 'manage', 'session'].includes(a),
  // A session cookie without its CSRF token: reads as its user (an owner), never writes.
  'owner cookie without CSRF token': (a, m) => SAFE.includes(m) && a !== 'admin',
  // API keys keep their rules: no session; `settings` is `read` to read and `write` to change.
  'read-only key': (a, m) => a === 'read' || (a === 'settings' && SAFE.includes(m)),
  'read+write key': (a) => ['read', 'write', 'settings', 'manage'].includes(a),
  'platform admin key': (a) => a === 'admin' || a === 'manage',
};
const PRINCIPALS = Object.keys(MAY);

const PLACEHOLDER: Record<string, string> = {
  token: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  '*': 'placeholder',
};
const fill = (url: string) =>
  url
    .split('/')
    .map((seg) =>
      seg === '*'
        ? PLACEHOLDER['*']
        : seg.startsWith(':')
          ? (PLACEHOLDER[seg.slice(1)] ?? '01ARZ3NDEKTSV4RRFFQ69G5FAV')
          : seg,
    )
    .join('/');

/** The routes of the table that need credentials (public ones are the fuzzer's and matrix.test.ts's). */
function protectedRoutes(app: FastifyInstance) {
  const seen = new Set<string>();
  return (
    auditedRoutes(app)
      .filter((r) => r.access !== 'public' && r.method !== 'HEAD' && r.method !== 'OPTIONS')
      .filter((r) => {
        const k = `${r.method} ${r.url}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      })
      .map((r) => ({ method: r.method, url: r.url, access: r.access as Access }))
      // Signing out ends the session the other cases use: last.
      .sort(
        (a, b) =>
          Number(a.url === '/v1/sessions/current' && a.method === 'DELETE') -
          Number(b.url === '/v1/sessions/current' && b.method === 'DELETE'),
      )
  );
}

/** The table's size, known when the tests are named (a server with every role, on SQLite, asked once). */
const TABLE_SIZE = await (async () => {
  const probe = await startTestApp({ VOD_ROLES: 'api,upload,stream,worker,monitor' });
  try {
    return protectedRoutes(probe.app).length;
  } finally {
    await probe.close();
  }
})();

for (const engine of databaseEngines('role matrix')) {
  describe.skipIf(!engine.available)(`role × route matrix on ${engine.engine}`, () => {
    let db: TestDatabase;
    let t: TestApp;
    let routes: ReturnType<typeof protectedRoutes>;
    const headers: Record<string, (method: string) => Headers> = {};

    beforeAll(async () => {
      db = await engine.create();
      t = await startTestApp({
        VOD_DB_URL: db.url,
        VOD_ROLES: 'api,upload,stream,worker,monitor',
        VOD_RATE_LIMIT_PER_MINUTE: '0',
      });
      routes = protectedRoutes(t.app);
      const tenant = await t.tenant('roles');
      const readOnly = await t.tenant('roles-ro', ['read']);
      const session = async (email: string) => {
        const res = await t.app.inject({
          method: 'POST',
          url: '/v1/sessions',
          payload: { email, password: PW },
        });
        if (res.statusCode !== 201) throw new Error(`sign-in of ${email}: ${res.statusCode} ${res.body}`);
        const secret = (res.cookies as Array<{ name: string; value: string }>).find(
          (c) => c.name === 'vod_session',
        )!.value;
        return { cookie: `vod_session=${secret}`, csrf: res.json().csrfToken as string };
      };
      for (const role of ['viewer', 'member', 'admin', 'owner'] as const) {
        const email = `${role}@roles.example`;
        await t.ctx.accounts.createUser({ tenantId: tenant.id, email, role, password: PW });
        const s = await session(email);
        headers[role] = (m) =>
          SAFE.includes(m)
            ? { cookie: s.cookie }
            : { cookie: s.cookie, origin: ORIGIN, 'x-csrf-token': s.csrf };
      }
      await t.ctx.accounts.createUser({
        tenantId: null,
        email: 'root@roles.example',
        role: null,
        password: PW,
      });
      const root = await session('root@roles.example');
      headers['platform admin user'] = (m) =>
        SAFE.includes(m)
          ? { cookie: root.cookie }
          : { cookie: root.cookie, origin: ORIGIN, 'x-csrf-token': root.csrf };
      await t.ctx.accounts.createUser({
        tenantId: tenant.id,
        email: 'nocsrf@roles.example',
        role: 'owner',
        password: PW,
      });
      const noCsrf = await session('nocsrf@roles.example');
      headers['owner cookie without CSRF token'] = () => ({ cookie: noCsrf.cookie, origin: ORIGIN });
      headers.anonymous = () => ({});
      headers['read-only key'] = () => readOnly.auth;
      headers['read+write key'] = () => tenant.auth;
      headers['platform admin key'] = () => ({ authorization: `Bearer ${t.adminKey}` });
    }, 60_000);
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    it('has routes of every access level in its table', () => {
      const levels = new Set(routes.map((r) => r.access));
      for (const a of ACCESS) expect(levels.has(a), a).toBe(true);
      expect(routes.length).toBeGreaterThan(60);
    });

    it('names the role needed in a 403', async () => {
      const viewer = await t.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: headers.viewer!('POST'),
        payload: {},
      });
      expect(viewer.statusCode).toBe(403);
      expect(viewer.json().detail).toMatch(/viewer.*admin or owner role/);
      const member = await t.app.inject({
        method: 'GET',
        url: '/v1/members',
        headers: headers.member!('GET'),
      });
      expect(member.json().detail).toMatch(/member.*admin or owner role/);
    });

    it(`answers 401 to anonymous, 403 exactly when the role lacks the access, never when it has it (${TABLE_SIZE} routes × ${PRINCIPALS.length} principals = ${TABLE_SIZE * PRINCIPALS.length} cases)`, async () => {
      const wrong: string[] = [];
      let cases = 0;
      for (const who of PRINCIPALS)
        for (const r of routes) {
          const method = r.method;
          const body = ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined;
          const res = await t.app.inject({
            method: method as 'GET',
            url: fill(r.url),
            headers: { ...headers[who]!(method), 'tus-resumable': '1.0.0' },
            ...(body ? { payload: body } : {}),
          });
          cases++;
          const may = MAY[who]!(r.access, method);
          const s = res.statusCode;
          const ok = who === 'anonymous' ? s === 401 : may ? s !== 401 && s !== 403 && s < 500 : s === 403;
          if (!ok) wrong.push(`${who}: ${method} ${r.url} [${r.access}] → ${s} ${res.body.slice(0, 120)}`);
          if (
            !may &&
            who !== 'anonymous' &&
            s === 403 &&
            who.startsWith('owner cookie') &&
            !SAFE.includes(method)
          )
            expect(res.json().detail).toMatch(/^CSRF check failed/);
        }
      console.log(
        `role matrix on ${engine.engine}: ${routes.length} routes × ${PRINCIPALS.length} principals = ${cases} cases`,
      );
      expect(cases).toBe(routes.length * PRINCIPALS.length);
      expect(routes.length).toBe(TABLE_SIZE);
      expect(wrong).toEqual([]);
    }, 120_000);
  });
}
