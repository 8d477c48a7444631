import { createHash, createHmac } from 'node:crypto';
import type { Role, Scope } from '@vodcloud/contracts';
import { isUniqueViolation } from '../../db/errors';
import type { SessionsTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { newId, randomToken } from '../../lib/ids';
import type { SessionPrincipal, TenantService } from '../tenants/service';
import type { LoginLimiter } from './login-limits';
import { checkPasswordRules, hashPassword, verifyPassword } from './passwords';
import type { AccountRepository, UserRow } from './repository';

export const ROLES: readonly Role[] = ['owner', 'admin', 'member', 'viewer'];
/** A session's row is looked up at most this often per node; revocations on this node clear it at once. */
const CACHE_MS = 5_000;
const CACHE_MAX = 10_000;
/** last_seen_at is written at most this often per session. */
const TOUCH_MS = 60_000;

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const iso = (ms: number) => new Date(ms).toISOString();
export const normalEmail = (email: string) => email.trim().toLowerCase();

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

/** Users, their passwords and sessions (members and one-time links: members.ts). */
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

  /** True once any console user exists (the first start's hint is printed until then). */
  async hasUsers(): Promise<boolean> {
    return (await this.repo.listUsers(undefined, 1)).length > 0;
  }

  /** Starts a session of a user (a sign-in, an accepted link). */
  async startSession(user: UserRow, ip: string, userAgent: string | undefined): Promise<StartedSession> {
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
  forgetUser(userId: string): void {
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

  /** Removes ended sessions (past their absolute end, or idle too long): the monitor role's purge. */
  async purgeSessions(): Promise<number> {
    const now = this.clock();
    return this.repo.purgeSessions(iso(now), iso(now - this.settings.idleTtlMs));
  }
}
