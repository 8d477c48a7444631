import type { DetectionPolicy, UpdateDetectionPolicy } from '@vodcloud/contracts';
import type { Database } from '../../db/connect';
import { nowIso } from '../../lib/time';

type Policy = Omit<DetectionPolicy, 'updatedAt'>;

/**
 * A tenant's policy until it sets one: every check runs, nothing is held. Thresholds flag explicit content
 * (porn, hentai) at 0.7 and suggestive content (sexy) only when nearly certain; drawings and neutral frames
 * never flag. The action `flag` only marks the video: holding or blocking is each tenant's choice.
 */
export const DEFAULT_POLICY: Policy = {
  enabled: true,
  qc: true,
  moderation: {
    enabled: true,
    action: 'flag',
    thresholds: { porn: 0.7, sexy: 0.9, hentai: 0.7, drawing: null, neutral: null },
    intervalSec: 5,
    maxFrames: 60,
    hold: false,
  },
};

/** The detection policy of each tenant (table detection_policies, one JSON row per tenant). */
export class DetectionPolicies {
  constructor(private readonly db: Database) {}

  async get(tenantId: string): Promise<DetectionPolicy> {
    const row = await this.db.primary
      .selectFrom('detection_policies')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (!row) return { ...DEFAULT_POLICY, updatedAt: null };
    return {
      ...merge(DEFAULT_POLICY, JSON.parse(row.policy) as UpdateDetectionPolicy),
      updatedAt: row.updated_at,
    };
  }

  /** Applies a partial update (omitted fields keep their value) and stores the whole policy. */
  async update(tenantId: string, patch: UpdateDetectionPolicy): Promise<DetectionPolicy> {
    const { updatedAt: _, ...current } = await this.get(tenantId);
    const next = merge(current, patch);
    const at = nowIso();
    const values = { tenant_id: tenantId, policy: JSON.stringify(next), updated_at: at };
    const done = await this.db.primary
      .updateTable('detection_policies')
      .set({ policy: values.policy, updated_at: at })
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (Number(done.numUpdatedRows) === 0) {
      try {
        await this.db.primary.insertInto('detection_policies').values(values).execute();
      } catch {
        // A concurrent first update inserted the row: this one overwrites it (last write wins, as an update).
        await this.db.primary
          .updateTable('detection_policies')
          .set({ policy: values.policy, updated_at: at })
          .where('tenant_id', '=', tenantId)
          .execute();
      }
    }
    return { ...next, updatedAt: at };
  }
}

/** `base` with the fields `patch` sets (one level into `moderation` and its thresholds). */
export function merge(base: Policy, patch: UpdateDetectionPolicy): Policy {
  const m = patch.moderation ?? {};
  return {
    enabled: patch.enabled ?? base.enabled,
    qc: patch.qc ?? base.qc,
    moderation: {
      enabled: m.enabled ?? base.moderation.enabled,
      action: m.action ?? base.moderation.action,
      thresholds: { ...base.moderation.thresholds, ...m.thresholds },
      intervalSec: m.intervalSec ?? base.moderation.intervalSec,
      maxFrames: m.maxFrames ?? base.moderation.maxFrames,
      hold: m.hold ?? base.moderation.hold,
    },
  };
}
