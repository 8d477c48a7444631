import { createHash, createHmac } from 'node:crypto';
import type { Role, Scope } from '@vodcloud/contracts';
import { isUniqueViolation } from '../../db/errors';
import type { InvitationsTable, SessionsTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { newId, randomToken } from '../../lib/ids';
import type { SessionPrincipal, TenantService } from '../tenants/service';
import type { LoginLimiter } from './login-limits';
import { checkPasswordRules, hashPassword, verifyPassword } from './passwords';
import type { AccountRepository, UserRow } from './repository';

export const ROLES: readonly Role[] = ['owner', 'admin', 'member', 'viewer'];
const INVITE_TTL_MS = 7 * 86_400_000;
const RESET_TTL_MS = 3_600_000;
/** A session's row is looked up at most this often per node; revocations on this node clear it at once. */
const CACHE_MS = 5_000;
const CACHE_MAX = 10_000;
/** last_seen_at is written at most this often per session. */
const TOUCH_MS = 60_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const iso = (ms: number) => new Date(ms).toISOString();
export const normalEmail = (email: string) => email.trim().toLowerCase();

/** Who does a member operation: a session's user (its role) or a tenant API key (never an owner). */
export interface Actor {
  owner: boolean;
  userId?: string;
  /** `user:<id>` or `api_key:<id>`. */
  ref: string;
}

export function userView(u: UserRow) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: (u.role as Role | null) ?? null,
    tenantId: u.tenant_id,
    tenantName: u.tenant_name ?? null,
    platformAdmin: Number(u.platform_admin) === 1,
    createdAt: u.created_at,
    lastLoginAt: u.last_login_at,
  };
}

function memberOfUser(u: UserRow) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role as Role,
    status: 'active' as const,
    createdAt: u.created_at,
    lastLoginAt: u.last_login_at,
    expiresAt: null,
  };
}

function memberOfInvitation(i: InvitationsTable) {
  return {
    id: i.id,
    email: i.email,
    name: i.name,
    role: i.role as Role,
    status: 'invited' as const,
    createdAt: i.created_at,
    lastLoginAt: null,
    expiresAt: i.expires_at,
  };
}

const scopesOf = (u: UserRow): Scope[] =>
  Number(u.platform_admin) === 1 ? ['admin'] : u.role === 'viewer' ? ['read'] : ['read', 'write'];

export interface SessionSettings {
  idleTtlMs: number;
  maxAgeMs: number;
}

/** A session made by a sign-in: the cookie's secret (shown once) and what the response says. */
export interface StartedSession {
  secret: string;
  maxAgeMs: number;
  view: ReturnType<AccountService['sessionView']>;
}

interface Resolved {
  principal: SessionPrincipal;
  session: SessionsTable;
  user: UserRow;
}

/** Users, their passwords and sessions, members of a tenant and one-time links (invitations, resets). */
export class AccountService {
  /** The clock: tests move it to expire sessions and links. */
  clock: () => number = Date.now;
  private readonly cache = new Map<string, { at: number; r: Resolved }>();

  constructor(
    private readonly repo: AccountRepository,
    private readonly tenants: TenantService,
    private readonly limiter: LoginLimiter,
    private readonly secret: string,
    readonly settings: SessionSettings,
  ) {}

  // --- users -----------------------------------------------------------------------------------------

  /** Creates a user (the command line): of a tenant with a role, or a platform admin. */
  async createUser(u: {
    tenantId: string | null;
    email: string;
    name?: string;
    role: Role | null;
    password: string;
  }) {
    checkPasswordRules(u.password);
    const email = normalEmail(u.email);
    if (u.tenantId !== null) await this.tenants.getTenant(u.tenantId);
    if (u.tenantId !== null && (u.role === null || !ROLES.includes(u.role)))
      throw new AppError('validation_failed', `A tenant's user needs a role: ${ROLES.join(', ')}`);
    const id = newId();
    try {
      await this.repo.insertUser({
        id,
        tenant_id: u.tenantId,
        email,
        name: u.name ?? email.split('@')[0]!,
        role: u.tenantId === null ? null : u.role,
        platform_admin: u.tenantId === null ? 1 : 0,
        password_hash: await hashPassword(u.password),
        created_at: iso(this.clock()),
        last_login_at: null,
        disabled_at: null,
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', `A user with email ${email} exists`);
      throw err;
    }
    return userView((await this.repo.findUser(id))!);
  }

  async listUsers(tenantId: string | undefined, limit: number, beforeId?: string) {
    return (await this.repo.listUsers(tenantId, limit, beforeId)).map(userView);
  }

  // --- sessions --------------------------------------------------------------------------------------

  csrfToken(sessionId: string): string {
    return createHmac('sha256', this.secret).update(`csrf\u0000${sessionId}`).digest('base64url');
  }

  /** The response of a sign-in and of GET /v1/sessions/current. */
  sessionView(user: UserRow, session: SessionsTable) {
    const idleEnd = Date.parse(session.last_seen_at) + this.settings.idleTtlMs;
    return {
      user: userView(user),
      csrfToken: this.csrfToken(session.id),
      expiresAt: iso(Math.min(idleEnd, Date.parse(session.expires_at))),
    };
  }

  /** Checks email and password (with the login limits) and starts a session. */
  async login(emailIn: string, password: string, ip: string, userAgent: string | undefined) {
    const email = normalEmail(emailIn);
    await this.limiter.check(email, ip, this.clock());
    const user = await this.repo.findUserByEmail(email);
    // Unknown email or not: one argon2 verification either way (no enumeration by timing).
    const ok = await verifyPassword(user?.password_hash, password);
    if (!user || !ok || user.disabled_at) {
      await this.limiter.fail(email, ip, this.clock());
      throw new AppError('unauthorized', 'The email or the password is wrong');
    }
    await this.limiter.succeed(email);
    return this.startSession(user, ip, userAgent);
  }

  private async startSession(
    user: UserRow,
    ip: string,
    userAgent: string | undefined,
  ): Promise<StartedSession> {
    const secret = randomToken(32);
    const now = this.clock();
    const row: SessionsTable = {
      id: sha256(secret),
      user_id: user.id,
      created_at: iso(now),
      expires_at: iso(now + this.settings.maxAgeMs),
      last_seen_at: iso(now),
      ip: ip ? ip.slice(0, 64) : null,
      user_agent: userAgent ? userAgent.slice(0, 256) : null,
    };
    await this.repo.insertSession(row);
    await this.repo.updateUser(user.id, { last_login_at: iso(now) });
    const fresh = { ...user, last_login_at: iso(now) };
    return { secret, maxAgeMs: this.settings.maxAgeMs, view: this.sessionView(fresh, row) };
  }

  /** The session of a cookie's secret, or undefined when unknown, expired, revoked or its user is gone. */
  async resolve(secret: string): Promise<Resolved | undefined> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(secret)) return undefined;
    const id = sha256(secret);
    const now = this.clock();
    const hit = this.cache.get(id);
    let r: Resolved | undefined = hit && now - hit.at < CACHE_MS && now >= hit.at ? hit.r : undefined;
    if (!r) {
      this.cache.delete(id);
      const session = await this.repo.findSession(id);
      const user = session && (await this.repo.findUser(session.user_id));
      if (!session || !user || user.disabled_at) return undefined;
      r = { session, user, principal: this.principalOf(user, session) };
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(id, { at: now, r });
    }
    const lastSeen = Date.parse(r.session.last_seen_at);
    if (now >= Date.parse(r.session.expires_at) || now >= lastSeen + this.settings.idleTtlMs) {
      this.cache.delete(id);
      await this.repo.deleteSession(id);
      return undefined;
    }
    if (now - lastSeen >= TOUCH_MS) {
      r.session = { ...r.session, last_seen_at: iso(now) };
      await this.repo.touchSession(id, r.session.last_seen_at);
    }
    return r;
  }

  private principalOf(user: UserRow, session: SessionsTable): SessionPrincipal {
    return {
      via: 'session',
      keyId: null,
      tenantId: user.tenant_id,
      scopes: scopesOf(user),
      userId: user.id,
      email: user.email,
      role: (user.role as Role | null) ?? null,
      sessionId: session.id,
    };
  }

  /** Forgets this node's cached sessions of a user (its role changed, it was removed, its sessions revoked). */
  private forgetUser(userId: string): void {
    for (const [id, e] of this.cache) if (e.r.user.id === userId) this.cache.delete(id);
  }

  async current(sessionId: string) {
    const session = await this.repo.findSession(sessionId);
    const user = session && (await this.repo.findUser(session.user_id));
    if (!session || !user) throw new AppError('unauthorized', 'The session has ended; sign in again');
    return this.sessionView(user, session);
  }

  async logout(sessionId: string): Promise<void> {
    this.cache.delete(sessionId);
    await this.repo.deleteSession(sessionId);
  }

  /** Changes the signed-in user's password; the user's other sessions end. */
  async changePassword(p: SessionPrincipal, current: string, next: string): Promise<void> {
    checkPasswordRules(next);
    const user = await this.repo.findUser(p.userId);
    if (!user) throw new AppError('unauthorized', 'The session has ended; sign in again');
    if (!(await verifyPassword(user.password_hash, current)))
      throw new AppError('forbidden', 'The current password is wrong');
    await this.repo.updateUser(user.id, { password_hash: await hashPassword(next) });
    this.forgetUser(user.id);
    await this.repo.deleteSessionsOf(user.id, p.sessionId);
  }

  // --- members ---------------------------------------------------------------------------------------

  /** Members of a tenant (users and pending invitations), newest first by id. */
  async listMembers(tenantId: string, limit: number, beforeId?: string) {
    const now = iso(this.clock());
    const [users, invites] = await Promise.all([
      this.repo.listUsers(tenantId, limit, beforeId),
      this.repo.listPendingInvitations(tenantId, now, limit, beforeId),
    ]);
    return [...users.map(memberOfUser), ...invites.map(memberOfInvitation)]
      .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, limit + 1);
  }

  private link(baseUrl: string, token: string, expiresAt: string) {
    return { url: `${baseUrl}/invite/${token}`, expiresAt };
  }

  /** Invites an email to the tenant with a role: a one-time link, valid 7 days (it replaces an open one). */
  async invite(
    actor: Actor,
    tenantId: string,
    m: { email: string; role: Role; name?: string },
    baseUrl: string,
  ) {
    if (m.role === 'owner' && !actor.owner)
      throw new AppError('forbidden', 'Only an owner may invite an owner');
    const email = normalEmail(m.email);
    if (await this.repo.findUserByEmail(email))
      throw new AppError('conflict', `A user with email ${email} exists`);
    const now = this.clock();
    await this.repo.closeInvitations(tenantId, email, iso(now));
    const token = randomToken(32);
    const row: InvitationsTable = {
      id: newId(now),
      token_hash: sha256(token),
      tenant_id: tenantId,
      email,
      name: m.name ?? null,
      role: m.role,
      kind: 'invite',
      user_id: null,
      created_by: actor.ref,
      created_at: iso(now),
      expires_at: iso(now + INVITE_TTL_MS),
      used_at: null,
    };
    await this.repo.insertInvitation(row);
    return { member: memberOfInvitation(row), invitation: this.link(baseUrl, token, row.expires_at) };
  }

  /** A user of the tenant, or a pending invitation of it; 404 otherwise (another tenant's looks missing). */
  private async target(tenantId: string, id: string) {
    const user = await this.repo.findUser(id);
    if (user && user.tenant_id === tenantId) return { user };
    const inv = await this.repo.findInvitation(tenantId, id);
    if (inv && inv.kind === 'invite' && !inv.used_at && Date.parse(inv.expires_at) > this.clock())
      return { invitation: inv };
    throw new AppError('not_found', 'Member not found');
  }

  private async assertNotLastOwner(tenantId: string, user: UserRow, what: string): Promise<void> {
    if (user.role === 'owner' && (await this.repo.countOwners(tenantId)) <= 1)
      throw new AppError('conflict', `The last owner cannot be ${what}; make another member owner first`);
  }

  async updateMember(actor: Actor, tenantId: string, id: string, role: Role) {
    const t = await this.target(tenantId, id);
    if (t.invitation) {
      if ((role === 'owner' || t.invitation.role === 'owner') && !actor.owner)
        throw new AppError('forbidden', "Only an owner may make an owner or change an owner's role");
      await this.repo.updateInvitation(id, { role });
      return memberOfInvitation({ ...t.invitation, role });
    }
    const user = t.user;
    if ((role === 'owner' || user.role === 'owner') && !actor.owner)
      throw new AppError('forbidden', "Only an owner may make an owner or change an owner's role");
    if (role !== 'owner') await this.assertNotLastOwner(tenantId, user, 'demoted');
    await this.repo.updateUser(id, { role });
    this.forgetUser(id);
    return memberOfUser({ ...user, role });
  }

  async removeMember(actor: Actor, tenantId: string, id: string): Promise<void> {
    const t = await this.target(tenantId, id);
    if (t.invitation) {
      if (t.invitation.role === 'owner' && !actor.owner)
        throw new AppError('forbidden', "Only an owner may revoke an owner's invitation");
      await this.repo.deleteInvitation(id);
      return;
    }
    if (t.user.role === 'owner' && !actor.owner)
      throw new AppError('forbidden', 'Only an owner may remove an owner');
    await this.assertNotLastOwner(tenantId, t.user, 'removed');
    this.forgetUser(id);
    await this.repo.deleteUser(id);
  }

  /** A one-time link (1 h) to set a new password; an owner's only by an owner. */
  async resetLink(actor: Actor, tenantId: string, id: string, baseUrl: string) {
    const t = await this.target(tenantId, id);
    if (!t.user) throw new AppError('not_found', 'Member not found');
    if (t.user.role === 'owner' && !actor.owner)
      throw new AppError('forbidden', "Only an owner may reset an owner's password");
    const now = this.clock();
    const token = randomToken(32);
    const row: InvitationsTable = {
      id: newId(now),
      token_hash: sha256(token),
      tenant_id: tenantId,
      email: t.user.email,
      name: null,
      role: t.user.role ?? 'viewer',
      kind: 'reset',
      user_id: t.user.id,
      created_by: actor.ref,
      created_at: iso(now),
      expires_at: iso(now + RESET_TTL_MS),
      used_at: null,
    };
    await this.repo.insertInvitation(row);
    return { invitation: this.link(baseUrl, token, row.expires_at) };
  }

  // --- one-time links --------------------------------------------------------------------------------

  private async openLink(token: string) {
    const inv = await this.repo.findInvitationByHash(sha256(token));
    if (!inv || inv.used_at || Date.parse(inv.expires_at) <= this.clock())
      throw new AppError('not_found', 'This link is unknown, used or expired');
    return inv;
  }

  async invitation(token: string) {
    const inv = await this.openLink(token);
    const tenant = await this.tenants.getTenant(inv.tenant_id).catch(() => undefined);
    return {
      email: inv.email,
      tenantName: tenant?.name ?? null,
      role: inv.role as Role,
      kind: inv.kind as 'invite' | 'reset',
      expiresAt: inv.expires_at,
    };
  }

  /**
   * Uses a link once: an invitation creates the user, a reset sets the user's new password and ends its
   * sessions. Either signs the user in.
   */
  async accept(
    token: string,
    password: string,
    name: string | undefined,
    ip: string,
    ua: string | undefined,
  ) {
    checkPasswordRules(password);
    const inv = await this.openLink(token);
    const passwordHash = await hashPassword(password);
    const now = iso(this.clock());
    if (!(await this.repo.claimInvitation(inv.id, now)))
      throw new AppError('not_found', 'This link is unknown, used or expired');
    let userId: string;
    if (inv.kind === 'reset') {
      const user = inv.user_id ? await this.repo.findUser(inv.user_id) : undefined;
      if (!user) throw new AppError('not_found', 'This link is unknown, used or expired');
      this.forgetUser(user.id);
      await this.repo.deleteSessionsOf(user.id);
      await this.repo.updateUser(user.id, { password_hash: passwordHash });
      userId = user.id;
    } else {
      userId = newId();
      try {
        await this.repo.insertUser({
          id: userId,
          tenant_id: inv.tenant_id,
          email: inv.email,
          name: name ?? inv.name ?? inv.email.split('@')[0]!,
          role: inv.role,
          platform_admin: 0,
          password_hash: passwordHash,
          created_at: now,
          last_login_at: null,
          disabled_at: null,
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        await this.repo.updateInvitation(inv.id, { used_at: null });
        throw new AppError('conflict', `A user with email ${inv.email} exists`);
      }
    }
    return this.startSession((await this.repo.findUser(userId))!, ip, ua);
  }

  /** Removes ended sessions (past their absolute end, or idle too long): the monitor role's purge. */
  async purgeSessions(): Promise<number> {
    const now = this.clock();
    return this.repo.purgeSessions(iso(now), iso(now - this.settings.idleTtlMs));
  }
}
