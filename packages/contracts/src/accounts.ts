import { z } from 'zod';
import { Id, IsoTime } from './common';

/** User accounts, sessions, members and invitations (the console's sign-in; issue 16). */

export const Role = z
  .enum(['owner', 'admin', 'member', 'viewer'])
  .describe(
    "A user's role in its tenant: `viewer` reads; `member` also uploads and edits; `admin` also manages the " +
      "tenant's settings (templates, webhooks, keys, members); `owner` also manages owners",
  );
export type Role = z.infer<typeof Role>;

/** 10 to 256 characters (counted as the client sent them; not trimmed). */
export const Password = z.string().min(10).max(256);
/** Compared case-insensitively (stored lower-cased). */
const Email = z.email().max(254);

export const User = z
  .object({
    id: Id,
    email: z.string(),
    name: z.string(),
    role: Role.nullable().describe('null for a platform admin (no tenant)'),
    tenantId: Id.nullable(),
    tenantName: z.string().nullable(),
    platformAdmin: z.boolean(),
    createdAt: IsoTime,
    lastLoginAt: IsoTime.nullable(),
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof User>;

export const Session = z
  .object({
    user: User,
    csrfToken: z
      .string()
      .describe('Send it as `x-csrf-token` on every cookie-authenticated request other than GET or HEAD'),
    expiresAt: IsoTime.describe(
      'When the session ends unless used before (idle expiry, capped by its maximum age)',
    ),
  })
  .meta({ id: 'Session' });

export const Login = z.object({ email: Email, password: z.string().min(1).max(256) }).strict();

export const ChangePassword = z
  .object({ currentPassword: z.string().min(1).max(256), newPassword: Password })
  .strict();

export const MemberStatus = z.enum(['active', 'invited']);

export const Member = z
  .object({
    id: Id.describe("The user's id, or the invitation's while `invited`"),
    email: z.string(),
    name: z.string().nullable(),
    role: Role,
    status: MemberStatus,
    createdAt: IsoTime,
    lastLoginAt: IsoTime.nullable(),
    expiresAt: IsoTime.nullable().describe('When a pending invitation expires; null for an active member'),
  })
  .meta({ id: 'Member' });

export const InvitationLink = z
  .object({
    url: z
      .string()
      .describe('The one-time link (`<public URL>/invite/<token>`); shown only in this response'),
    expiresAt: IsoTime,
  })
  .meta({ id: 'InvitationLink' });

export const CreateMember = z
  .object({ email: Email, role: Role, name: z.string().trim().min(1).max(200).optional() })
  .strict();

export const CreatedMember = z
  .object({ member: Member, invitation: InvitationLink })
  .meta({ id: 'CreatedMember' });

export const UpdateMember = z.object({ role: Role }).strict();

export const PasswordReset = z.object({ invitation: InvitationLink }).meta({ id: 'PasswordReset' });

export const InvitationKind = z.enum(['invite', 'reset']);

export const Invitation = z
  .object({
    email: z.string(),
    tenantName: z.string().nullable(),
    role: Role.nullable(),
    kind: InvitationKind,
    expiresAt: IsoTime,
  })
  .meta({ id: 'Invitation' });

export const InvitationParams = z
  .object({ token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, 'must be an invitation token') })
  .strict();

export const AcceptInvitation = z
  .object({ password: Password, name: z.string().trim().min(1).max(200).optional() })
  .strict();
