import {
  AcceptInvitation,
  ApiKey,
  ChangePassword,
  CreateApiKey,
  CreatedApiKey,
  CreatedMember,
  CreateMember,
  IdParams,
  Invitation,
  InvitationParams,
  ListQuery,
  Login,
  listOf,
  Member,
  NoContent,
  PasswordReset,
  Session,
  UpdateMember,
} from '@vodcloud/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CSRF_HEADER, checkOrigin, SESSION_COOKIE, tenantOf } from '../../http/auth';
import { baseUrlFor } from '../../http/base-url';
import { decodeCursor, page } from '../../http/pagination';
import type { ZodApp } from '../../http/types';
import { AppError } from '../../lib/errors';
import { noteAudit } from '../audit';
import type { SessionPrincipal, TenantService } from '../tenants/service';
import type { Actor, MemberService } from './members';
import type { AccountService, StartedSession } from './service';

export interface AccountRouteDeps {
  accounts: AccountService;
  members: MemberService;
  tenants: TenantService;
  publicUrl: string | undefined;
}

const sessionOf = (req: FastifyRequest): SessionPrincipal => {
  const p = req.principal;
  if (p?.via !== 'session') throw new AppError('unauthorized', 'Sign in first');
  return p;
};

const actorOf = (req: FastifyRequest): Actor => {
  const p = req.principal!;
  return p.via === 'session'
    ? { owner: p.role === 'owner', userId: p.userId, ref: `user:${p.userId}` }
    : { owner: false, ref: `api_key:${p.keyId}` };
};

/** A platform admin (user or admin key) acts on any tenant with an owner's powers (it onboards the first owner). */
const platformActorOf = (req: FastifyRequest): Actor => {
  const p = req.principal!;
  return p.via === 'session'
    ? { owner: true, userId: p.userId, ref: `user:${p.userId}` }
    : { owner: true, ref: `api_key:${p.keyId}` };
};

/** The cookie is Secure when the client speaks https to us (or through a trusted proxy) or the public URL is https. */
function secureFor(req: FastifyRequest, publicUrl: string | undefined): boolean {
  return req.protocol === 'https' || (publicUrl?.startsWith('https:') ?? false);
}

function sendSession(
  req: FastifyRequest,
  reply: FastifyReply,
  s: StartedSession,
  publicUrl: string | undefined,
) {
  reply.setCookie(SESSION_COOKIE, s.secret, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: secureFor(req, publicUrl),
    maxAge: Math.floor(s.maxAgeMs / 1000),
  });
  reply.header(CSRF_HEADER, s.view.csrfToken);
  const u = s.view.user;
  noteAudit(req.raw, {
    actor: { kind: 'user', id: u.id, email: u.email },
    targetId: u.id,
    ...(u.tenantId ? { tenantId: u.tenantId } : {}),
  });
  return reply.code(201).send(s.view);
}

/** Sessions, members, one-time links and the tenant's own API keys (the console's account pages). */
export function accountRoutes(app: ZodApp, deps: AccountRouteDeps): void {
  sessionRoutes(app, deps);
  memberRoutes(app, deps);
  tenantInvitationRoutes(app, deps);
  apiKeyRoutes(app, deps.tenants);
}

const userAgent = (req: FastifyRequest) => {
  const v = req.headers['user-agent'];
  return typeof v === 'string' ? v : undefined;
};

/** Sign-in, the current session, sign-out and password change. */
function sessionRoutes(app: ZodApp, { accounts, publicUrl }: AccountRouteDeps): void {
  app.post('/v1/sessions', {
    config: { access: 'public', audit: { action: 'session.create', target: 'user' } },
    schema: {
      operationId: 'createSession',
      tags: ['sessions'],
      summary:
        'Sign in with email and password: sets the `vod_session` cookie and returns the user and its CSRF token',
      body: Login,
      response: { 201: Session },
    },
    handler: async (req, reply) => {
      // Login CSRF: a sign-in posted from another site is refused (when the browser says where from).
      checkOrigin(req, publicUrl, false);
      const s = await accounts.login(req.body.email, req.body.password, req.ip, userAgent(req));
      return sendSession(req, reply, s, publicUrl);
    },
  });

  app.get('/v1/sessions/current', {
    config: { access: 'session' },
    schema: {
      operationId: 'getCurrentSession',
      tags: ['sessions'],
      summary: 'The signed-in user and the CSRF token of its session (the session cookie only)',
      response: { 200: Session },
    },
    handler: async (req, reply) => {
      const view = await accounts.current(sessionOf(req).sessionId);
      reply.header(CSRF_HEADER, view.csrfToken);
      return view;
    },
  });

  app.delete('/v1/sessions/current', {
    config: { access: 'session', audit: { action: 'session.delete', target: 'user' } },
    schema: {
      operationId: 'deleteCurrentSession',
      tags: ['sessions'],
      summary: 'Sign out: ends the session and expires its cookie',
      response: { 204: NoContent },
    },
    handler: async (req, reply) => {
      await accounts.logout(sessionOf(req).sessionId);
      reply.clearCookie(SESSION_COOKIE, {
        httpOnly: true,
        sameSite: 'lax',
        path: '/',
        secure: secureFor(req, publicUrl),
      });
      return reply.code(204).send(null);
    },
  });

  app.post('/v1/sessions/current/password', {
    config: { access: 'session', audit: { action: 'user.password_change', target: 'user' } },
    schema: {
      operationId: 'changePassword',
      tags: ['sessions'],
      summary: "Change the signed-in user's password; its other sessions end",
      body: ChangePassword,
      response: { 204: NoContent },
    },
    handler: async (req, reply) => {
      const p = sessionOf(req);
      noteAudit(req.raw, { targetId: p.userId });
      await accounts.changePassword(p, req.body.currentPassword, req.body.newPassword);
      return reply.code(204).send(null);
    },
  });
}

/** The tenant's members, and the one-time links (invitations, resets) they make. */
function memberRoutes(app: ZodApp, { members, publicUrl }: AccountRouteDeps): void {
  const base = baseUrlFor(publicUrl);
  app.get('/v1/members', {
    config: { access: 'settings' },
    schema: {
      operationId: 'listMembers',
      tags: ['members'],
      summary: "The tenant's members and pending invitations, newest first",
      querystring: ListQuery,
      response: { 200: listOf(Member) },
    },
    handler: async (req) => {
      const rows = await members.listMembers(tenantOf(req), req.query.limit, decodeCursor(req.query.cursor));
      const p = page(rows, req.query.limit);
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });

  app.post('/v1/members', {
    config: { access: 'settings', audit: { action: 'member.invite', target: 'member' } },
    schema: {
      operationId: 'inviteMember',
      tags: ['members'],
      summary:
        'Invite someone by email with a role: returns a one-time link (7 days) to hand over; only an owner invites an owner',
      body: CreateMember,
      response: { 201: CreatedMember },
    },
    handler: async (req, reply) => {
      const out = await members.invite(actorOf(req), tenantOf(req), req.body, base(req));
      noteAudit(req.raw, { targetId: out.member.id });
      return reply.code(201).send(out);
    },
  });

  app.patch('/v1/members/:id', {
    config: { access: 'settings', audit: 'member.update' },
    schema: {
      operationId: 'updateMember',
      tags: ['members'],
      summary: "Change a member's role (owners: by an owner only; the last owner stays owner)",
      params: IdParams,
      body: UpdateMember,
      response: { 200: Member },
    },
    handler: async (req) => members.updateMember(actorOf(req), tenantOf(req), req.params.id, req.body.role),
  });

  app.delete('/v1/members/:id', {
    config: { access: 'settings', audit: 'member.delete' },
    schema: {
      operationId: 'deleteMember',
      tags: ['members'],
      summary: 'Remove a member (the user and its sessions) or revoke a pending invitation',
      params: IdParams,
      response: { 204: NoContent },
    },
    handler: async (req, reply) => {
      await members.removeMember(actorOf(req), tenantOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  });

  app.post('/v1/members/:id/password-reset', {
    config: { access: 'settings', audit: { action: 'member.password_reset', target: 'member' } },
    schema: {
      operationId: 'resetMemberPassword',
      tags: ['members'],
      summary: "A one-time link (1 hour) that sets a member's new password and ends its sessions",
      params: IdParams,
      response: { 201: PasswordReset },
    },
    handler: async (req, reply) =>
      reply.code(201).send(await members.resetLink(actorOf(req), tenantOf(req), req.params.id, base(req))),
  });

  app.get('/v1/invitations/:token', {
    config: { access: 'public' },
    schema: {
      operationId: 'getInvitation',
      tags: ['members'],
      summary: 'What a one-time link is for (public: the token is the credential)',
      params: InvitationParams,
      response: { 200: Invitation },
    },
    handler: async (req) => members.invitation(req.params.token),
  });

  app.post('/v1/invitations/:token/accept', {
    config: { access: 'public', audit: { action: 'invitation.accept', target: 'user' } },
    schema: {
      operationId: 'acceptInvitation',
      tags: ['members'],
      summary:
        'Use a one-time link: an invitation creates the user, a reset sets its new password; signs in (like POST /v1/sessions)',
      params: InvitationParams,
      body: AcceptInvitation,
      response: { 201: Session },
    },
    handler: async (req, reply) => {
      checkOrigin(req, publicUrl, false);
      const s = await members.accept(
        req.params.token,
        req.body.password,
        req.body.name,
        req.ip,
        userAgent(req),
      );
      noteAudit(req.raw, { targetId: s.view.user.id });
      return sendSession(req, reply, s, publicUrl);
    },
  });
}

/** The tenant's own API keys, for its admins (the platform admin's are under /v1/tenants/{id}/api-keys). */
function apiKeyRoutes(app: ZodApp, tenants: TenantService): void {
  app.get('/v1/api-keys', {
    config: { access: 'settings' },
    schema: {
      operationId: 'listTenantApiKeys',
      tags: ['api-keys'],
      summary: "The tenant's API keys (secrets are never shown)",
      querystring: ListQuery,
      response: { 200: listOf(ApiKey) },
    },
    handler: async (req) => {
      const rows = await tenants.listKeys(tenantOf(req), req.query.limit, decodeCursor(req.query.cursor));
      const p = page(rows, req.query.limit);
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });

  app.post('/v1/api-keys', {
    config: { access: 'settings', audit: 'api_key.create' },
    schema: {
      operationId: 'createTenantApiKey',
      tags: ['api-keys'],
      summary: 'Create an API key of the tenant; the key is shown only in this response',
      body: CreateApiKey,
      response: { 201: CreatedApiKey },
    },
    handler: async (req, reply) =>
      reply.code(201).send(await tenants.createKey(tenantOf(req), req.body.name, req.body.scopes)),
  });

  app.delete('/v1/api-keys/:id', {
    config: { access: 'settings', audit: 'api_key.revoke' },
    schema: {
      operationId: 'revokeTenantApiKey',
      tags: ['api-keys'],
      summary: 'Revoke an API key of the tenant at once',
      params: IdParams,
      response: { 204: NoContent },
    },
    handler: async (req, reply) => {
      await tenants.revokeKey(tenantOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  });
}

/** A platform admin invites someone to any tenant: how a tenant's first owner is onboarded from the console. */
function tenantInvitationRoutes(app: ZodApp, deps: AccountRouteDeps): void {
  app.post('/v1/tenants/:id/invitations', {
    config: { access: 'admin', audit: { action: 'member.invite', target: 'member', tenantParam: 'id' } },
    schema: {
      operationId: 'inviteTenantMember',
      tags: ['tenants'],
      summary:
        "Invite someone to a tenant by email with a role, an owner included (admin): a tenant's first owner from the console; returns a one-time link (7 days)",
      params: IdParams,
      body: CreateMember,
      response: { 201: CreatedMember },
    },
    handler: async (req, reply) => {
      const tenantId = (await deps.tenants.getTenant(req.params.id)).id;
      const out = await deps.members.invite(
        platformActorOf(req),
        tenantId,
        req.body,
        baseUrlFor(deps.publicUrl)(req),
      );
      noteAudit(req.raw, { targetId: out.member.id });
      return reply.code(201).send(out);
    },
  });
}
