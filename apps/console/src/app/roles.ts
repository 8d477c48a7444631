import type { User } from '../api/types';

/** What a feature may need of the signed-in user: `tenant`, a tenant's user of any role (not a platform admin alone). */
export type Requirement = 'write' | 'platformAdmin' | 'tenant';

/** Owners, admins and members upload and edit; viewers only read. The server enforces the same on every route. */
export const canWrite = (user: User | null | undefined): boolean =>
  !!user && (user.role === 'owner' || user.role === 'admin' || user.role === 'member');

export function allows(user: User | null | undefined, requirement: Requirement | undefined): boolean {
  if (!requirement) return !!user;
  if (requirement === 'platformAdmin') return !!user?.platformAdmin;
  if (requirement === 'tenant') return !!user?.tenantId;
  return canWrite(user);
}
