// POST /v1/tenants/{id}/invitations: a platform admin (the admin key or an admin user's session) onboards a
// tenant's first owner. The link is the members' invitation (accepted the same way), the route is admin-only,
// an unknown tenant is 404, an email in use 409, and the audit log names the tenant and the invitation.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../../../test/support/app';

type Headers = Record<string, string>;
const ORIGIN = 'http://localhost:80'; // inject()'s default Host, over http
const PW = 'correct horse battery';

describe('tenant invitations (admin)', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let admin: Headers;
  let tenant: { id: string; auth: Headers };

  const call = (method: 'GET' | 'POST', url: string, headers: Headers, payload?: object) =>
    app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

  /** Signs in and returns the headers of a cookie-authenticated write. */
  const session = async (email: string) => {
    const res = await call('POST', '/v1/sessions', {}, { email, password: PW });
    expect(res.statusCode, res.body).toBe(201);
    const cookie = (res.cookies as Array<{ name: string; value: string }>).find(
      (c) => c.name === 'vod_session',
    )!;
    return { cookie: `vod_session=${cookie.value}`, origin: ORIGIN, 'x-csrf-token': res.json().csrfToken };
  };

  beforeAll(async () => {
    t = await startTestApp({ VOD_RATE_LIMIT_PER_MINUTE: '0' });
    app = t.app;
    admin = { authorization: `Bearer ${t.adminKey}` };
    tenant = await t.tenant('onboarded');
  });
  afterAll(async () => {
    await t?.close();
  });

  it("invites a tenant's first owner with the admin key; the link makes the owner, who then manages members", async () => {
    const res = await call('POST', `/v1/tenants/${tenant.id}/invitations`, admin, {
      email: 'First.Owner@Example.com',
      role: 'owner',
    });
    expect(res.statusCode, res.body).toBe(201);
    const out = res.json();
    expect(out).toEqual({
      member: {
        id: expect.any(String),
        email: 'first.owner@example.com',
        name: null,
        role: 'owner',
        status: 'invited',
        createdAt: expect.any(String),
        lastLoginAt: null,
        expiresAt: out.invitation.expiresAt,
      },
      invitation: {
        url: expect.stringMatching(/^http:\/\/localhost:80\/invite\/[A-Za-z0-9_-]{43}$/),
        expiresAt: expect.any(String),
      },
    });
    const token = String(out.invitation.url).split('/').pop()!;
    const info = await call('GET', `/v1/invitations/${token}`, {});
    expect(info.json()).toMatchObject({ tenantName: 'onboarded', role: 'owner', kind: 'invite' });

    // The tenant sees the pending invitation among its members.
    const pending = await call('GET', '/v1/members', tenant.auth);
    expect(pending.json().data).toEqual([expect.objectContaining({ id: out.member.id, status: 'invited' })]);

    const accepted = await call(
      'POST',
      `/v1/invitations/${token}/accept`,
      { origin: ORIGIN },
      { password: PW, name: 'First Owner' },
    );
    expect(accepted.statusCode, accepted.body).toBe(201);
    expect(accepted.json().user).toMatchObject({ role: 'owner', tenantId: tenant.id, platformAdmin: false });
    // The new owner may invite an owner (an owner's power), through the tenant's own route.
    const owner = await session('first.owner@example.com');
    const next = await call('POST', '/v1/members', owner, { email: 'second@example.com', role: 'owner' });
    expect(next.statusCode, next.body).toBe(201);

    // The link is used up.
    expect((await call('GET', `/v1/invitations/${token}`, {})).statusCode).toBe(404);

    await t.ctx.audit.flush();
    const log = await call('GET', `/v1/audit?action=member.invite&targetId=${out.member.id}`, admin);
    expect(log.statusCode, log.body).toBe(200);
    expect(log.json().data).toEqual([
      expect.objectContaining({
        action: 'member.invite',
        tenantId: tenant.id,
        target: { type: 'member', id: out.member.id },
      }),
    ]);
  });

  it("a platform admin user's session invites too (CSRF token and all); a tenant's owner may not", async () => {
    await t.ctx.accounts.createUser({ tenantId: null, email: 'ops@example.com', role: null, password: PW });
    const ops = await session('ops@example.com');
    const res = await call('POST', `/v1/tenants/${tenant.id}/invitations`, ops, {
      email: 'editor@example.com',
      role: 'admin',
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().member).toMatchObject({
      email: 'editor@example.com',
      role: 'admin',
      status: 'invited',
    });

    const { cookie } = ops;
    const noToken = await call(
      'POST',
      `/v1/tenants/${tenant.id}/invitations`,
      { cookie, origin: ORIGIN },
      {
        email: 'x@example.com',
        role: 'viewer',
      },
    );
    expect(noToken.statusCode).toBe(403);

    const owner = await session('first.owner@example.com');
    const refused = await call('POST', `/v1/tenants/${tenant.id}/invitations`, owner, {
      email: 'y@example.com',
      role: 'viewer',
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('forbidden');
    const byKey = await call('POST', `/v1/tenants/${tenant.id}/invitations`, tenant.auth, {
      email: 'z@example.com',
      role: 'viewer',
    });
    expect(byKey.statusCode).toBe(403);
  });

  it('an unknown tenant is 404, an email in use 409, a bad role 400', async () => {
    const unknown = await call('POST', '/v1/tenants/01ARZ3NDEKTSV4RRFFQ69G5FAV/invitations', admin, {
      email: 'nobody@example.com',
      role: 'owner',
    });
    expect(unknown.statusCode).toBe(404);
    const taken = await call('POST', `/v1/tenants/${tenant.id}/invitations`, admin, {
      email: 'FIRST.owner@example.com',
      role: 'member',
    });
    expect(taken.statusCode).toBe(409);
    const bad = await call('POST', `/v1/tenants/${tenant.id}/invitations`, admin, {
      email: 'a@example.com',
      role: 'king',
    });
    expect(bad.statusCode).toBe(400);
  });
});
