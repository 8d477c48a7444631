import type { Database } from '../../db/connect';
import type { RecordingHooksTable, RecordingPartsTable, RecordingsTable } from '../../db/schema';

/** The rows of live recordings (migration 021): hooks, recordings and their parts. */
export class RecordingRepository {
  constructor(private readonly db: Database) {}

  // Hooks.
  async insertHook(row: RecordingHooksTable): Promise<void> {
    await this.db.primary.insertInto('recording_hooks').values(row).execute();
  }

  async hook(tenantId: string, id: string): Promise<RecordingHooksTable | undefined> {
    return this.db.primary
      .selectFrom('recording_hooks')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async hookByTokenHash(hash: string): Promise<RecordingHooksTable | undefined> {
    return this.db.primary
      .selectFrom('recording_hooks')
      .selectAll()
      .where('token_hash', '=', hash)
      .executeTakeFirst();
  }

  async hooks(tenantId: string, limit: number, beforeId?: string): Promise<RecordingHooksTable[]> {
    return this.db.read((k) => {
      let q = k
        .selectFrom('recording_hooks')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id', 'desc')
        .limit(limit + 1);
      if (beforeId) q = q.where('id', '<', beforeId);
      return q.execute();
    });
  }

  async deleteHook(tenantId: string, id: string): Promise<number> {
    const r = await this.db.primary
      .deleteFrom('recording_hooks')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async hookUsed(id: string, at: string): Promise<void> {
    await this.db.primary
      .updateTable('recording_hooks')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .execute();
  }

  // Recordings.
  async insert(row: RecordingsTable): Promise<void> {
    await this.db.primary.insertInto('recordings').values(row).execute();
  }

  async find(tenantId: string, id: string): Promise<RecordingsTable | undefined> {
    return this.db.primary
      .selectFrom('recordings')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async list(
    tenantId: string,
    filter: { streamName?: string; status?: string },
    limit: number,
    beforeId?: string,
  ): Promise<RecordingsTable[]> {
    return this.db.read((k) => {
      let q = k
        .selectFrom('recordings')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id', 'desc')
        .limit(limit + 1);
      if (beforeId) q = q.where('id', '<', beforeId);
      if (filter.streamName) q = q.where('stream_name', '=', filter.streamName);
      if (filter.status) q = q.where('status', '=', filter.status);
      return q.execute();
    });
  }

  /** The stream's recording still collecting parts, if any (the newest). */
  async open(hookId: string, app: string, streamName: string): Promise<RecordingsTable | undefined> {
    return this.db.primary
      .selectFrom('recordings')
      .selectAll()
      .where('hook_id', '=', hookId)
      .where('stream_name', '=', streamName)
      .where('app', '=', app)
      .where('status', '=', 'recording')
      .orderBy('id', 'desc')
      .executeTakeFirst();
  }

  async update(id: string, values: Partial<RecordingsTable>): Promise<void> {
    await this.db.primary.updateTable('recordings').set(values).where('id', '=', id).execute();
  }

  /** Compare-and-set on the status (and the window it was read with): true when this caller won. */
  async transition(
    id: string,
    from: { status: string; windowUntil?: string | null },
    values: Partial<RecordingsTable>,
  ): Promise<boolean> {
    let q = this.db.primary
      .updateTable('recordings')
      .set(values)
      .where('id', '=', id)
      .where('status', '=', from.status);
    if (from.windowUntil !== undefined)
      q =
        from.windowUntil === null
          ? q.where('window_until', 'is', null)
          : q.where('window_until', '=', from.windowUntil);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** A recording that will not be imported, with why (kept for the operator: GET /v1/recordings?status=failed). */
  async fail(id: string, code: string, message: string): Promise<void> {
    await this.update(id, {
      status: 'failed',
      error_code: code,
      error_message: message.slice(0, 500),
      updated_at: new Date().toISOString(),
    });
  }

  async deleteRecording(id: string): Promise<void> {
    await this.db.primary.deleteFrom('recordings').where('id', '=', id).execute();
  }

  // Parts.
  async insertPart(row: RecordingPartsTable): Promise<void> {
    await this.db.primary.insertInto('recording_parts').values(row).execute();
  }

  async part(tenantId: string, id: string): Promise<RecordingPartsTable | undefined> {
    return this.db.primary
      .selectFrom('recording_parts')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async updatePart(id: string, values: Partial<RecordingPartsTable>): Promise<void> {
    await this.db.primary.updateTable('recording_parts').set(values).where('id', '=', id).execute();
  }

  /** A recording's parts in order. */
  async parts(recordingId: string): Promise<RecordingPartsTable[]> {
    return this.db.primary
      .selectFrom('recording_parts')
      .selectAll()
      .where('recording_id', '=', recordingId)
      .orderBy('seq', 'asc')
      .execute();
  }

  /** Parts of the stream reported but not yet stored and joined (received before `before`, when given). */
  async pendingParts(
    hookId: string,
    app: string,
    streamName: string,
    before?: string,
  ): Promise<RecordingPartsTable[]> {
    let q = this.db.primary
      .selectFrom('recording_parts')
      .selectAll()
      .where('hook_id', '=', hookId)
      .where('stream_name', '=', streamName)
      .where('app', '=', app)
      .where('status', 'in', ['pending', 'stored'])
      .orderBy('id', 'asc');
    if (before) q = q.where('id', '<', before);
    return q.execute();
  }
}
