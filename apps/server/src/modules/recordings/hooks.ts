import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CreatedRecordingHook, CreateRecordingHook, RecordingHook } from '@vodcloud/contracts';
import type { RecordingHooksTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { nowIso } from '../../lib/time';
import type { RecordingRepository } from './repository';
import { type HookSettings, hookView } from './views';

const TOKEN_PREFIX = 'vrh_';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Recording hooks: what a recording server calls. The token (32 random bytes) is shown once; only its sha256
 * is stored, and a callback is authorised by looking that hash up (a token is as long as a key: a hash is
 * enough, no slow KDF).
 */
export class RecordingHooks {
  constructor(
    private readonly repo: RecordingRepository,
    private readonly assert: {
      template(tenantId: string, id: string): Promise<void>;
      category(tenantId: string, id: string): Promise<void>;
    },
  ) {}

  async create(tenantId: string, input: CreateRecordingHook, baseUrl: string): Promise<CreatedRecordingHook> {
    if (input.templateId) await this.assert.template(tenantId, input.templateId);
    if (input.categoryId) await this.assert.category(tenantId, input.categoryId);
    if (input.deleteAfterImport && input.fetchBaseUrl)
      throw new AppError(
        'validation_failed',
        'deleteAfterImport needs a shared directory, not a fetchBaseUrl',
        {
          errors: [{ path: 'body.deleteAfterImport', message: 'not with fetchBaseUrl' }],
        },
      );
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const settings: HookSettings = {
      reconnectWindowSec: input.reconnectWindowSec,
      templateId: input.templateId ?? null,
      categoryId: input.categoryId ?? null,
      titleTemplate: input.titleTemplate,
      playbackPolicy: input.playbackPolicy ?? null,
      fetchBaseUrl: input.fetchBaseUrl ?? null,
      recordDir: input.recordDir ?? null,
      deleteAfterImport: input.deleteAfterImport,
    };
    const row: RecordingHooksTable = {
      id: newId(),
      tenant_id: tenantId,
      name: input.name,
      token_hash: sha256(token),
      token_prefix: token.slice(0, TOKEN_PREFIX.length + 6),
      settings: JSON.stringify(settings),
      created_at: nowIso(),
      last_used_at: null,
    };
    await this.repo.insertHook(row);
    const q = `?token=${encodeURIComponent(token)}`;
    return {
      ...hookView(row),
      token,
      nginxRtmpUrl: `${baseUrl}/hooks/nginx-rtmp/record-done${q}`,
      srsUrl: `${baseUrl}/hooks/srs/dvr${q}`,
    };
  }

  async list(tenantId: string, limit: number, beforeId?: string): Promise<RecordingHook[]> {
    return (await this.repo.hooks(tenantId, limit, beforeId)).map(hookView);
  }

  async get(tenantId: string, id: string): Promise<RecordingHook> {
    const row = await this.repo.hook(tenantId, id);
    if (!row) throw new AppError('not_found', 'Recording hook not found');
    return hookView(row);
  }

  async delete(tenantId: string, id: string): Promise<void> {
    if ((await this.repo.deleteHook(tenantId, id)) === 0)
      throw new AppError('not_found', 'Recording hook not found');
  }

  /** The hook a callback's token names: none given → 401, unknown → 403. */
  async authenticate(token: string | undefined): Promise<RecordingHooksTable> {
    if (!token) throw new AppError('unauthorized', 'The hook URL needs its token (?token=…)');
    const hash = sha256(token);
    const row =
      token.startsWith(TOKEN_PREFIX) && token.length < 100
        ? await this.repo.hookByTokenHash(hash)
        : undefined;
    // The lookup is by hash (no timing signal about the token); compared again in constant time anyway.
    if (!row || !timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(hash)))
      throw new AppError('forbidden', 'The hook token is not valid (revoked, or never issued)');
    return row;
  }
}
