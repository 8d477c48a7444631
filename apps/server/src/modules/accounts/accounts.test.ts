// Accounts end to end through the HTTP app, on every database engine: sign-in and its cookie, the current
// session, sign-out, expiry (the service's clock moved), password change, login lockout, invitations and
// resets, the members' rules (last owner, owners by owners only, tenant isolation), CSRF and the audit log.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../../test/support/app';
import { databaseEngines, type TestDatabase } from '../../../../../test/support/databases';

type Headers = Record<string, string>;
const ORIGIN = 'http://localhost:80'; // inject()'s default Host, over http
const PW = 'correct horse battery';
const HOUR = 3_600_000;

interface Signed {
  secret: string;
  csrf: string;
  /** Headers of a safe request. */
  read: Headers;
  /** Headers of a write: cookie, Origin and the CSRF token. */
  write: Headers;
  body: { user: Record<string, unknown>; csrfToken: string; expiresAt: string };
}

const cookieOf = (res: LightMyRequestResponse) =>
  (res.cookies as Array<{ name: string; value: string }>).find((c) => c.name === 'vod_session');

async function signIn(
  app: FastifyInstance,
  email: string,
  password = PW,
  more: { headers?: Headers; remoteAddress?: string } = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/v1/sessions',
    payload: { email, password },
    headers: more.headers,
    remoteAddress: more.remoteAddress,
  });
}

function signed(res: LightMyRequestResponse): Signed {
  expect(res.statusCode, res.body).toBe(201);
  const secret = cookieOf(res)!.value;
  const body = res.json();
  const cookie = `vod_session=${secret}`;
  return {
    secret,
    csrf: body.csrfToken,
    read: { cookie },
    write: { cookie, origin: ORIGIN, 'x-csrf-token': body.csrfToken },
    body,
  };
}

for (const engine of databaseEngines('accounts suite')) {
  describe.skipIf(!engine.available)(`accounts on ${engine.engine}`, () => {
    let db: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;
    let tenantA: { id: string; auth: Headers };
    let tenantB: { id: string; auth: Headers };
    let n = 0;
    /** A user of tenant A (or B) with a role, made as the command line makes it. */
    const user = async (role: 'owner' | 'admin' | 'member' | 'viewer', tenant = tenantA, password = PW) => {
      const email = `${role}${++n}@Example.COM`;
      const u = await t.ctx.accounts.createUser({ tenantId: tenant.id, email, role, password });
      return { ...u, login: () => signIn(app, email, password).then(signed) };
    };
    const call = (method: string, url: string, headers: Headers, payload?: unknown) =>
      app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(payload === undefined ? {} : { payload: payload as object }),
      });

    beforeAll(async () => {
      db = await engine.create();
      t = await startTestApp({ VOD_DB_URL: db.url, VOD_RATE_LIMIT_PER_MINUTE: '0' });
      app = t.app;
      tenantA = await t.tenant('alpha');
      tenantB = await t.tenant('bravo');
    });
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    it('signs in with a cookie (HttpOnly, SameSite=Lax, Path=/, not Secure over http), the user and a CSRF token', async () => {
      const u = await user('member');
      const res = await signIn(app, u.email.toUpperCase());
      expect(res.statusCode, res.body).toBe(201);
      const c = (res.cookies as Array<Record<string, unknown>>).find((x) => x.name === 'vod_session')!;
      expect(c).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
      expect(c.secure).toBeUndefined();
      expect(String(c.value)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const body = res.json();
      expect(res.headers['x-csrf-token']).toBe(body.csrfToken);
      expect(body.user).toEqual({
        id: u.id,
        email: u.email,
        name: u.email.split('@')[0],
        role: 'member',
        tenantId: tenantA.id,
        tenantName: 'alpha',
        platformAdmin: false,
        createdAt: u.createdAt,
        lastLoginAt: expect.any(String),
      });
      expect(u.email).toBe(u.email.toLowerCase());
      const s = signed(res);
      const current = await call('GET', '/v1/sessions/current', s.read);
      expect(current.statusCode, current.body).toBe(200);
      expect(current.json()).toMatchObject({ user: { id: u.id }, csrfToken: s.csrf });
      expect(current.headers['x-csrf-token']).toBe(s.csrf);
      // The session reads the tenant's resources; the database holds only the secret's hash.
      expect((await call('GET', '/v1/videos', s.read)).statusCode).toBe(200);
      const rows = await t.ctx.db.primary.selectFrom('sessions').selectAll().execute();
      expect(JSON.stringify(rows)).not.toContain(s.secret);
    });

    it('answers a wrong password and an unknown email alike (401, one message)', async () => {
      const u = await user('viewer');
      const wrong = await signIn(app, u.email, 'not the password', { remoteAddress: '10.9.0.1' });
      const unknown = await signIn(app, 'nobody@example.com', PW, { remoteAddress: '10.9.0.1' });
      for (const r of [wrong, unknown]) {
        expect(r.statusCode).toBe(401);
        expect(r.json().code).toBe('unauthorized');
        expect(r.headers['set-cookie']).toBeUndefined();
      }
      expect(wrong.json().detail).toBe(unknown.json().detail);
    });

    it('sets Secure behind an https proxy (trusted X-Forwarded-Proto)', async () => {
      // Its own database: another app on this one would replace the admin key.
      const own = await engine.create();
      const behind = await startTestApp({
        VOD_DB_URL: own.url,
        VOD_TRUST_PROXY: 'loopback',
        VOD_RATE_LIMIT_PER_MINUTE: '0',
      });
      try {
        const email = `secure${++n}@example.com`;
        const tenant = await behind.tenant('secure');
        await behind.ctx.accounts.createUser({ tenantId: tenant.id, email, role: 'viewer', password: PW });
        const res = await signIn(behind.app, email, PW, { headers: { 'x-forwarded-proto': 'https' } });
        expect(res.statusCode, res.body).toBe(201);
        expect(cookieOf(res)).toMatchObject({ secure: true, httpOnly: true });
        const plain = await signIn(behind.app, email, PW);
        expect((cookieOf(plain) as { secure?: boolean }).secure).toBeUndefined();
      } finally {
        await behind.close();
        await own.drop();
      }
    });

    it('signs out: 204, the cookie expired, the session unusable at once', async () => {
      const s = await (await user('member')).login();
      const out = await call('DELETE', '/v1/sessions/current', s.write);
      expect(out.statusCode, out.body).toBe(204);
      const c = cookieOf(out) as { value: string; maxAge?: number; expires?: Date };
      expect(c.value).toBe('');
      expect(c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() < Date.now())).toBe(true);
      const after = await call('GET', '/v1/sessions/current', s.read);
      expect(after.statusCode).toBe(401);
      expect((await call('GET', '/v1/videos', s.read)).statusCode).toBe(401);
    });

    it('expires a session idle for 12 h, and any session 7 days after sign-in however used', async () => {
      const a = t.ctx.accounts;
      const idle = await (await user('viewer')).login();
      const busy = await (await user('viewer')).login();
      const t0 = Date.now();
      try {
        // Used every 11 h: alive (sliding) until the absolute end.
        for (let h = 11; h < 168; h += 11) {
          a.clock = () => t0 + h * HOUR;
          const r = await call('GET', '/v1/sessions/current', busy.read);
          expect(r.statusCode, `after ${h} h`).toBe(200);
          expect(Date.parse(r.json().expiresAt)).toBeLessThanOrEqual(t0 + 168 * HOUR + 5_000);
          if (h === 11) expect((await call('GET', '/v1/sessions/current', idle.read)).statusCode).toBe(200);
          if (h === 33) expect((await call('GET', '/v1/sessions/current', idle.read)).statusCode).toBe(401);
        }
        a.clock = () => t0 + 168 * HOUR + 60_000;
        expect((await call('GET', '/v1/sessions/current', busy.read)).statusCode).toBe(401);
        // The monitor role's purge removes the ended sessions' rows; a live one stays.
        a.clock = () => t0 + 199 * HOUR;
        const fresh = await (await user('viewer')).login();
        a.clock = () => t0 + 200 * HOUR;
        expect(await a.purgeSessions()).toBeGreaterThan(0);
        const left = (await t.ctx.db.primary.selectFrom('sessions').select('id').execute()).map((r) => r.id);
        expect(left).toHaveLength(1);
        expect((await call('GET', '/v1/sessions/current', fresh.read)).statusCode).toBe(200);
      } finally {
        a.clock = Date.now;
      }
    });

    it('changes the password: the current one is checked, the other sessions end, this one stays', async () => {
      const u = await user('member');
      const s1 = await u.login();
      const s2 = await u.login();
      const wrong = await call('POST', '/v1/sessions/current/password', s1.write, {
        currentPassword: 'not it at all',
        newPassword: 'a brand new password',
      });
      expect(wrong.statusCode).toBe(403);
      const short = await call('POST', '/v1/sessions/current/password', s1.write, {
        currentPassword: PW,
        newPassword: 'short',
      });
      expect(short.statusCode).toBe(400);
      const ok = await call('POST', '/v1/sessions/current/password', s1.write, {
        currentPassword: PW,
        newPassword: 'a brand new password',
      });
      expect(ok.statusCode, ok.body).toBe(204);
      expect((await call('GET', '/v1/sessions/current', s2.read)).statusCode).toBe(401);
      expect((await call('GET', '/v1/sessions/current', s1.read)).statusCode).toBe(200);
      expect((await signIn(app, u.email, PW)).statusCode).toBe(401);
      expect((await signIn(app, u.email, 'a brand new password')).statusCode).toBe(201);
    });

    it('locks an account after 5 failures (429 + Retry-After, the right password too); a success resets the count', async () => {
      const u = await user('viewer');
      const ip = { remoteAddress: '10.1.0.1' };
      for (let i = 0; i < 4; i++)
        expect((await signIn(app, u.email, 'wrong password', ip)).statusCode).toBe(401);
      expect((await signIn(app, u.email, PW, ip)).statusCode).toBe(201); // resets the account's count
      for (let i = 0; i < 4; i++)
        expect((await signIn(app, u.email, 'wrong password', ip)).statusCode).toBe(401);
      expect((await signIn(app, u.email, PW, ip)).statusCode).toBe(201);
      for (let i = 0; i < 5; i++)
        expect((await signIn(app, u.email, 'wrong password', ip)).statusCode).toBe(401);
      const locked = await signIn(app, u.email, PW, { remoteAddress: '10.1.0.2' });
      expect(locked.statusCode).toBe(429);
      expect(locked.json().code).toBe('rate_limited');
      const retry = Number(locked.headers['retry-after']);
      expect(retry).toBeGreaterThan(800);
      expect(retry).toBeLessThanOrEqual(900);
      // Another account from the same address still signs in.
      expect((await signIn(app, (await user('viewer')).email, PW, ip)).statusCode).toBe(201);
    });

    it('refuses an address after 20 failures in the window, whatever the accounts (429 + Retry-After)', async () => {
      const ip = { remoteAddress: '10.2.0.1' };
      for (let i = 0; i < 20; i++)
        expect((await signIn(app, `guess${i}@example.com`, 'wrong password', ip)).statusCode).toBe(401);
      const u = await user('viewer');
      const refused = await signIn(app, u.email, PW, ip);
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect((await signIn(app, u.email, PW, { remoteAddress: '10.2.0.2' })).statusCode).toBe(201);
    });

    it('invites by a one-time link that expires after 7 days; accepting signs the new user in', async () => {
      const owner = await (await user('owner')).login();
      const created = await call('POST', '/v1/members', owner.write, {
        email: 'New.Person@Example.com',
        role: 'member',
        name: 'New Person',
      });
      expect(created.statusCode, created.body).toBe(201);
      const { member, invitation } = created.json();
      expect(member).toMatchObject({ email: 'new.person@example.com', role: 'member', status: 'invited' });
      expect(invitation.url).toMatch(/^http:\/\/localhost:80\/invite\/[A-Za-z0-9_-]{43}$/);
      expect(Date.parse(invitation.expiresAt) - Date.now()).toBeGreaterThan(7 * 24 * HOUR - 60_000);
      const token = invitation.url.split('/').pop();
      const info = await call('GET', `/v1/invitations/${token}`, {});
      expect(info.statusCode).toBe(200);
      expect(info.json()).toEqual({
        email: 'new.person@example.com',
        tenantName: 'alpha',
        role: 'member',
        kind: 'invite',
        expiresAt: invitation.expiresAt,
      });
      const listed = (await call('GET', '/v1/members?limit=100', owner.read)).json().data;
      expect(listed.find((m: { id: string }) => m.id === member.id)).toMatchObject({ status: 'invited' });
      const weak = await call('POST', `/v1/invitations/${token}/accept`, {}, { password: 'short' });
      expect(weak.statusCode).toBe(400);
      const accepted = await call('POST', `/v1/invitations/${token}/accept`, {}, { password: PW });
      expect(accepted.statusCode, accepted.body).toBe(201);
      const s = signed(accepted);
      expect(s.body.user).toMatchObject({
        email: 'new.person@example.com',
        role: 'member',
        name: 'New Person',
      });
      expect((await call('GET', '/v1/sessions/current', s.read)).statusCode).toBe(200);
      // One time only.
      expect((await call('POST', `/v1/invitations/${token}/accept`, {}, { password: PW })).statusCode).toBe(
        404,
      );
      expect((await call('GET', `/v1/invitations/${token}`, {})).statusCode).toBe(404);
      const active = (await call('GET', '/v1/members?limit=100', owner.read)).json().data;
      expect(active.find((m: { email: string }) => m.email === 'new.person@example.com')).toMatchObject({
        status: 'active',
        id: s.body.user.id,
      });
      // Expiry.
      const late = await call('POST', '/v1/members', owner.write, {
        email: 'late@example.com',
        role: 'viewer',
      });
      const lateToken = late.json().invitation.url.split('/').pop();
      const t0 = Date.now();
      t.ctx.accounts.clock = () => t0 + 7 * 24 * HOUR + 60_000;
      try {
        expect((await call('GET', `/v1/invitations/${lateToken}`, {})).statusCode).toBe(404);
        expect(
          (await call('POST', `/v1/invitations/${lateToken}/accept`, {}, { password: PW })).statusCode,
        ).toBe(404);
      } finally {
        t.ctx.accounts.clock = Date.now;
      }
      expect(
        (await call('GET', '/v1/invitations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', {})).statusCode,
      ).toBe(404);
    });

    it("resets a password by a one-time link (1 h): the user's sessions end, the new password works", async () => {
      const owner = await (await user('owner')).login();
      const m = await user('member');
      const old = await m.login();
      const reset = await call('POST', `/v1/members/${m.id}/password-reset`, owner.write);
      expect(reset.statusCode, reset.body).toBe(201);
      const { url, expiresAt } = reset.json().invitation;
      expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(HOUR);
      const token = url.split('/').pop();
      expect((await call('GET', `/v1/invitations/${token}`, {})).json()).toMatchObject({
        kind: 'reset',
        email: m.email,
      });
      const done = await call(
        'POST',
        `/v1/invitations/${token}/accept`,
        {},
        { password: 'the reset password' },
      );
      expect(done.statusCode, done.body).toBe(201);
      expect(done.json().user.id).toBe(m.id);
      expect((await call('GET', '/v1/sessions/current', old.read)).statusCode).toBe(401);
      expect((await signIn(app, m.email, PW)).statusCode).toBe(401);
      expect((await signIn(app, m.email, 'the reset password')).statusCode).toBe(201);
      expect((await call('POST', `/v1/invitations/${token}/accept`, {}, { password: PW })).statusCode).toBe(
        404,
      );
    });

    it('keeps the last owner; only an owner makes, demotes, removes or resets an owner', async () => {
      const t2 = await t.tenant('solo');
      const ownerU = await user('owner', t2);
      const owner = await ownerU.login();
      const admin = await (await user('admin', t2)).login();
      const member = await user('member', t2);
      // The last owner.
      const demote = await call('PATCH', `/v1/members/${ownerU.id}`, owner.write, { role: 'admin' });
      expect(demote.statusCode).toBe(409);
      expect(demote.json().code).toBe('conflict');
      expect((await call('DELETE', `/v1/members/${ownerU.id}`, owner.write)).statusCode).toBe(409);
      // An admin may not touch owners.
      for (const [method, url, body] of [
        ['POST', '/v1/members', { email: 'x-owner@example.com', role: 'owner' }],
        ['PATCH', `/v1/members/${member.id}`, { role: 'owner' }],
        ['PATCH', `/v1/members/${ownerU.id}`, { role: 'member' }],
        ['DELETE', `/v1/members/${ownerU.id}`, undefined],
        ['POST', `/v1/members/${ownerU.id}/password-reset`, undefined],
      ] as const) {
        const r = await call(method, url, admin.write, body);
        expect(r.statusCode, `${method} ${url}`).toBe(403);
        expect(r.json().detail).toMatch(/owner/);
      }
      // A tenant key is no owner either, but manages the rest.
      expect(
        (await call('POST', '/v1/members', t2.auth, { email: 'k@example.com', role: 'owner' })).statusCode,
      ).toBe(403);
      expect((await call('PATCH', `/v1/members/${member.id}`, t2.auth, { role: 'viewer' })).statusCode).toBe(
        200,
      );
      // An admin manages non-owners.
      expect(
        (await call('PATCH', `/v1/members/${member.id}`, admin.write, { role: 'admin' })).json(),
      ).toMatchObject({
        role: 'admin',
      });
      // The owner makes another owner, then may step down.
      expect(
        (await call('PATCH', `/v1/members/${member.id}`, owner.write, { role: 'owner' })).statusCode,
      ).toBe(200);
      expect(
        (await call('PATCH', `/v1/members/${ownerU.id}`, owner.write, { role: 'admin' })).statusCode,
      ).toBe(200);
      // Its role changed at once: no more owner-only powers, still admin.
      expect(
        (await call('PATCH', `/v1/members/${member.id}`, owner.write, { role: 'member' })).statusCode,
      ).toBe(403);
      // A removed user's sessions end.
      const viewer = await user('viewer', t2);
      const vs = await viewer.login();
      expect((await call('DELETE', `/v1/members/${viewer.id}`, admin.write)).statusCode).toBe(204);
      expect((await call('GET', '/v1/videos', vs.read)).statusCode).toBe(401);
      expect((await signIn(app, viewer.email, PW)).statusCode).toBe(401);
      // A pending invitation is revoked by DELETE.
      const inv = (
        await call('POST', '/v1/members', admin.write, { email: 'gone@example.com', role: 'viewer' })
      ).json();
      expect((await call('DELETE', `/v1/members/${inv.member.id}`, admin.write)).statusCode).toBe(204);
      const token = inv.invitation.url.split('/').pop();
      expect((await call('GET', `/v1/invitations/${token}`, {})).statusCode).toBe(404);
    });

    it("keeps tenants apart: A's admin never sees or changes B's members, keys or resources", async () => {
      const a = await (await user('admin', tenantA)).login();
      const bUser = await user('member', tenantB);
      const bCat = (await call('POST', '/v1/categories', tenantB.auth, { name: 'b-only' })).json()
        .id as string;
      const members = (await call('GET', '/v1/members?limit=100', a.read)).json().data as Array<{
        id: string;
      }>;
      expect(members.some((m) => m.id === bUser.id)).toBe(false);
      expect(JSON.stringify(members)).not.toContain(bUser.email);
      expect((await call('PATCH', `/v1/members/${bUser.id}`, a.write, { role: 'viewer' })).statusCode).toBe(
        404,
      );
      expect((await call('DELETE', `/v1/members/${bUser.id}`, a.write)).statusCode).toBe(404);
      expect((await call('POST', `/v1/members/${bUser.id}/password-reset`, a.write)).statusCode).toBe(404);
      expect((await call('GET', `/v1/categories/${bCat}`, a.read)).statusCode).toBe(404);
      expect((await call('DELETE', `/v1/categories/${bCat}`, a.write)).statusCode).toBe(404);
      const bKeys = (await call('GET', '/v1/api-keys', tenantB.auth)).json().data as Array<{ id: string }>;
      expect((await call('DELETE', `/v1/api-keys/${bKeys[0]!.id}`, a.write)).statusCode).toBe(404);
      const aKeys = (await call('GET', '/v1/api-keys?limit=100', a.read)).json().data as Array<{
        id: string;
      }>;
      expect(aKeys.some((k) => bKeys.some((b) => b.id === k.id))).toBe(false);
    });

    it('manages the tenant API keys from a session (the secret shown once)', async () => {
      const admin = await (await user('admin')).login();
      const made = await call('POST', '/v1/api-keys', admin.write, { name: 'ci', scopes: ['read'] });
      expect(made.statusCode, made.body).toBe(201);
      const key = made.json();
      expect(key).toMatchObject({ name: 'ci', scopes: ['read'], key: expect.stringMatching(/^vk_/) });
      expect((await call('GET', '/v1/videos', { authorization: `Bearer ${key.key}` })).statusCode).toBe(200);
      const list = (await call('GET', '/v1/api-keys?limit=100', admin.read)).json();
      expect(JSON.stringify(list)).not.toContain(key.key);
      expect(list.data.some((k: { id: string }) => k.id === key.id)).toBe(true);
      expect((await call('DELETE', `/v1/api-keys/${key.id}`, admin.write)).statusCode).toBe(204);
      expect((await call('GET', '/v1/videos', { authorization: `Bearer ${key.key}` })).statusCode).toBe(401);
      const member = await (await user('member')).login();
      expect(
        (await call('POST', '/v1/api-keys', member.write, { name: 'x', scopes: ['read'] })).statusCode,
      ).toBe(403);
    });

    it('checks CSRF on cookie writes (Origin or Referer, and x-csrf-token); bearer requests are not affected', async () => {
      const s = await (await user('member')).login();
      let c = 0;
      const post = (headers: Headers) => call('POST', '/v1/categories', headers, { name: `csrf-${++c}` });
      const { origin: _o, ...noOrigin } = s.write;
      const cases: Array<[string, Headers]> = [
        ['foreign Origin', { ...s.write, origin: 'https://evil.example' }],
        ['no Origin nor Referer', noOrigin],
        ['foreign Referer', { ...noOrigin, referer: 'https://evil.example/page' }],
        ['no token', { cookie: s.write.cookie!, origin: ORIGIN }],
        ['wrong token', { ...s.write, 'x-csrf-token': `${s.csrf.slice(0, -2)}xx` }],
      ];
      for (const [what, headers] of cases) {
        const r = await post(headers);
        expect(r.statusCode, what).toBe(403);
        expect(r.json().detail, what).toMatch(/^CSRF check failed: /);
      }
      expect((await post(s.write)).statusCode).toBe(201);
      expect((await post({ ...noOrigin, referer: `${ORIGIN}/library` })).statusCode).toBe(201);
      // GET needs no token; a bearer key needs none, whatever the Origin (and wins over a cookie).
      expect((await call('GET', '/v1/categories', { cookie: s.write.cookie! })).statusCode).toBe(200);
      expect((await post({ ...tenantA.auth, origin: 'https://evil.example' })).statusCode).toBe(201);
      expect((await post({ ...tenantA.auth, cookie: s.write.cookie! })).statusCode).toBe(201);
      // Login CSRF: a sign-in posted from another site.
      const u = await user('viewer');
      const foreign = await signIn(app, u.email, PW, { headers: { origin: 'https://evil.example' } });
      expect(foreign.statusCode).toBe(403);
      expect((await signIn(app, u.email, PW, { headers: { origin: ORIGIN } })).statusCode).toBe(201);
    });

    it("records the session's user (id and email) in the audit log", async () => {
      const u = await user('member');
      const s = await u.login();
      const r = await call(
        'POST',
        '/v1/categories',
        { ...s.write, 'x-request-id': `acct-audit-${engine.engine}` },
        {
          name: 'audited',
        },
      );
      expect(r.statusCode).toBe(201);
      await t.ctx.audit.flush();
      const row = await t.ctx.db.primary
        .selectFrom('audit_events')
        .selectAll()
        .where('request_id', '=', `acct-audit-${engine.engine}`)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        actor_kind: 'user',
        actor_id: u.id,
        actor_email: u.email,
        tenant_id: tenantA.id,
      });
      const admin = await (await user('admin')).login();
      const log = (await call('GET', `/v1/audit?actor=${u.id}`, admin.read)).json();
      expect(log.data[0].actor).toEqual({ kind: 'user', id: u.id, email: u.email });
      const logins = await t.ctx.db.primary
        .selectFrom('audit_events')
        .select(['actor_kind', 'actor_id', 'status'])
        .where('action', '=', 'session.create')
        .where('actor_id', '=', u.id)
        .execute();
      expect(logins.map((l) => [l.actor_kind, Number(l.status)])).toEqual([['user', 201]]);
    });

    it('lets a platform admin user do what the admin key does, and no tenant work', async () => {
      const email = `root${++n}@example.com`;
      await t.ctx.accounts.createUser({ tenantId: null, email, role: null, password: PW });
      const s = signed(await signIn(app, email));
      expect(s.body.user).toMatchObject({
        platformAdmin: true,
        role: null,
        tenantId: null,
        tenantName: null,
      });
      expect((await call('GET', '/v1/tenants', s.read)).statusCode).toBe(200);
      expect((await call('POST', '/v1/tenants', s.write, { name: 'by-admin-user' })).statusCode).toBe(201);
      expect((await call('GET', '/v1/audit', s.read)).statusCode).toBe(200);
      expect((await call('GET', '/v1/videos', s.read)).statusCode).toBe(403);
    });
  });
}
