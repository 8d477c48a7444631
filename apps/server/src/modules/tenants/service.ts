import { createHash } from 'node:crypto';
import type { Role, Scope } from '@vodcloud/contracts';
import { isUniqueViolation } from '../../db/errors';
import type { ApiKeysTable, TenantsTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { newId, randomToken } from '../../lib/ids';
import { nowIso } from '../../lib/time';
import type { TemplateService } from '../templates/service';
import type { TenantRepository } from './repository';

export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/** Who a request is: an API key (`Authorization: Bearer`), or a user signed in with a session cookie. */
export type Principal = KeyPrincipal | SessionPrincipal;

export interface KeyPrincipal {
  via: 'key';
  keyId: string;
  tenantId: string | null;
  scopes: Scope[];
  userId?: undefined;
  role?: undefined;
}

export interface SessionPrincipal {
  via: 'session';
  keyId: null;
  /** Null for a platform admin. */
  tenantId: string | null;
  /** What the role amounts to in key terms: `read` (viewer), `read,write`, or `admin` (platform admin). */
  scopes: Scope[];
  userId: string;
  email: string;
  /** Null for a platform admin. */
  role: Role | null;
  /** sha256 of the cookie's secret (the sessions row's id). */
  sessionId: string;
}

export function tenantView(row: TenantsTable) {
  const quota = row.storage_quota_bytes;
  return {
    id: row.id,
    name: row.name,
    storageQuotaBytes: quota === null || quota === undefined ? null : Number(quota),
    createdAt: row.created_at,
  };
}

export function keyView(row: ApiKeysTable) {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes.split(',') as Scope[],
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

const BOOTSTRAP_SETTING = 'admin_bootstrap_key_id';
/** Set once, with the first-start admin key (see TenantRepository.insertFirstKey). */
const FIRST_KEY_CLAIM = 'first_start_admin_key_id';
const TOUCH_INTERVAL_MS = 60_000;

export class TenantService {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly repo: TenantRepository,
    private readonly templates: TemplateService,
  ) {}

  async createTenant(name: string) {
    const row: TenantsTable = { id: newId(), name, created_at: nowIso() };
    await this.repo.insertTenant(row);
    await this.templates.ensureDefault(row.id);
    return tenantView(row);
  }

  async getTenant(id: string) {
    const row = await this.repo.findTenant(id);
    if (!row) throw new AppError('not_found', 'Tenant not found');
    return tenantView(row);
  }

  async updateTenant(id: string, patch: { name?: string; storageQuotaBytes?: number | null }) {
    await this.getTenant(id);
    await this.repo.updateTenant(id, {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.storageQuotaBytes !== undefined ? { storage_quota_bytes: patch.storageQuotaBytes } : {}),
    });
    return this.getTenant(id);
  }

  async listTenants(limit: number, beforeId?: string) {
    return (await this.repo.listTenants(limit, beforeId)).map(tenantView);
  }

  /** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
  async createKey(tenantId: string | null, name: string, scopes: Scope[]) {
    if (tenantId !== null) await this.getTenant(tenantId);
    const key = `vk_${randomToken(32)}`;
    const row: ApiKeysTable = {
      id: newId(),
      tenant_id: tenantId,
      name,
      scopes: [...new Set(scopes)].sort().join(','),
      secret_hash: hashKey(key),
      created_at: nowIso(),
      revoked_at: null,
      last_used_at: null,
    };
    await this.repo.insertKey(row);
    return { ...keyView(row), key };
  }

  async listKeys(tenantId: string, limit: number, beforeId?: string) {
    await this.getTenant(tenantId);
    return (await this.repo.listKeys(tenantId, limit, beforeId)).map(keyView);
  }

  async revokeKey(tenantId: string, keyId: string): Promise<void> {
    const row = await this.repo.findKey(tenantId, keyId);
    if (!row) throw new AppError('not_found', 'API key not found');
    await this.repo.revokeKey(keyId, nowIso());
  }

  /** Resolves a presented key to its principal, or undefined when unknown or revoked. */
  async authenticate(key: string): Promise<KeyPrincipal | undefined> {
    const row = await this.repo.findKeyByHash(hashKey(key));
    if (!row || row.revoked_at) return undefined;
    const last = this.touched.get(row.id) ?? 0;
    if (Date.now() - last > TOUCH_INTERVAL_MS) {
      this.touched.set(row.id, Date.now());
      // Best effort and throttled: never a write per request.
      this.repo.touchKey(row.id, nowIso()).catch(() => this.touched.delete(row.id));
    }
    return { via: 'key', keyId: row.id, tenantId: row.tenant_id, scopes: row.scopes.split(',') as Scope[] };
  }

  /**
   * Makes VOD_ADMIN_API_KEY a valid admin key, idempotently; a previous bootstrap key that differs is revoked.
   * Without it, creates an admin key on first start only and returns it so the caller can print it once.
   */
  async bootstrapAdmin(
    adminKey: string | undefined,
  ): Promise<{ createdKey?: string; keyId: string } | undefined> {
    if (adminKey) {
      const hash = hashKey(adminKey);
      const existing = await this.repo.findKeyByHash(hash);
      const previousId = await this.repo.getSetting(BOOTSTRAP_SETTING);
      if (existing && existing.tenant_id !== null)
        throw new Error('VOD_ADMIN_API_KEY collides with a tenant key; choose another');
      let id = existing?.id;
      if (!existing) {
        id = newId();
        try {
          await this.repo.insertKey({
            id,
            tenant_id: null,
            name: 'VOD_ADMIN_API_KEY',
            scopes: 'admin',
            secret_hash: hash,
            created_at: nowIso(),
            revoked_at: null,
            last_used_at: null,
          });
        } catch (err) {
          // Nodes started together with the same key: another one inserted it first.
          if (!isUniqueViolation(err)) throw err;
          id = (await this.repo.findKeyByHash(hash))?.id;
          if (!id) throw err;
        }
      } else if (existing.revoked_at) {
        throw new Error('VOD_ADMIN_API_KEY was revoked; set a new one');
      }
      if (previousId && previousId !== id) await this.repo.revokeKey(previousId, nowIso());
      await this.repo.setSetting(BOOTSTRAP_SETTING, id!);
      return { keyId: id! };
    }
    if ((await this.repo.countActiveAdminKeys()) > 0) return undefined;
    const key = `vk_${randomToken(32)}`;
    const row: ApiKeysTable = {
      id: newId(),
      tenant_id: null,
      name: 'first-start admin key',
      scopes: 'admin',
      secret_hash: hashKey(key),
      created_at: nowIso(),
      revoked_at: null,
      last_used_at: null,
    };
    // One node of those starting together on an empty database makes (and prints) it.
    if (!(await this.repo.insertFirstKey(row, FIRST_KEY_CLAIM))) return undefined;
    return { createdKey: key, keyId: row.id };
  }
}
