import type { Role } from '@vodcloud/contracts';
import { isUniqueViolation } from '../../db/errors';
import type { InvitationsTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { newId, randomToken } from '../../lib/ids';
import type { TenantService } from '../tenants/service';
import { checkPasswordRules, hashPassword } from './passwords';
import type { AccountRepository, UserRow } from './repository';
import { type AccountService, iso, normalEmail, sha256 } from './service';

const INVITE_TTL_MS = 7 * 86_400_000;
const RESET_TTL_MS = 3_600_000;

/** Who does a member operation: a session's user (its role) or a tenant API key (never an owner). */
export interface Actor {
  owner: boolean;
  userId?: string;
  /** `user:<id>` or `api_key:<id>`. */
  ref: string;
}

export function memberOfUser(u: UserRow) {
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

/**
 * The members of a tenant (users and pending invitations) and one-time links: invitations (7 days) and
 * password resets (1 hour). Only an owner touches owners; the last owner stays. Times from the accounts'
 * clock.
 */
export class MemberService {
  constructor(
    private readonly repo: AccountRepository,
    private readonly tenants: TenantService,
    private readonly accounts: AccountService,
  ) {}

  /** Members of a tenant (users and pending invitations), newest first by id. */
  async listMembers(tenantId: string, limit: number, beforeId?: string) {
    const now = iso(this.accounts.clock());
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
    const now = this.accounts.clock();
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
    if (inv && inv.kind === 'invite' && !inv.used_at && Date.parse(inv.expires_at) > this.accounts.clock())
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
    this.accounts.forgetUser(id);
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
    this.accounts.forgetUser(id);
    await this.repo.deleteUser(id);
  }

  /** A one-time link (1 h) to set a new password; an owner's only by an owner. */
  async resetLink(actor: Actor, tenantId: string, id: string, baseUrl: string) {
    const t = await this.target(tenantId, id);
    if (!t.user) throw new AppError('not_found', 'Member not found');
    if (t.user.role === 'owner' && !actor.owner)
      throw new AppError('forbidden', "Only an owner may reset an owner's password");
    const now = this.accounts.clock();
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
    if (!inv || inv.used_at || Date.parse(inv.expires_at) <= this.accounts.clock())
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
    const now = iso(this.accounts.clock());
    if (!(await this.repo.claimInvitation(inv.id, now)))
      throw new AppError('not_found', 'This link is unknown, used or expired');
    let userId: string;
    if (inv.kind === 'reset') {
      const user = inv.user_id ? await this.repo.findUser(inv.user_id) : undefined;
      if (!user) throw new AppError('not_found', 'This link is unknown, used or expired');
      this.accounts.forgetUser(user.id);
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
    return this.accounts.startSession((await this.repo.findUser(userId))!, ip, ua);
  }
}
