import type { Logger } from 'pino';
import type { Database } from '../../db/connect';
import { isUniqueViolation } from '../../db/errors';
import type { AlertsTable } from '../../db/schema';
import { newId } from '../../lib/ids';

export type Severity = 'warning' | 'critical';

/** A condition a rule found true on this evaluation. */
export interface Finding {
  rule: string;
  subject: string;
  severity: Severity;
  message: string;
  value?: number | null;
  threshold?: number | null;
}

/** One rule's evaluation: its findings, and which subjects it speaks for (default: all of the rule). */
export interface Evaluation {
  rule: string;
  findings: Finding[];
  covers?: (subject: string) => boolean;
}

export interface Alert {
  id: string;
  rule: string;
  subject: string;
  severity: Severity;
  state: 'open' | 'resolved';
  message: string;
  value: number | null;
  threshold: number | null;
  openedAt: string;
  resolvedAt: string | null;
  lastSeenAt: string;
}

export type AlertEvent = { type: 'alert.opened' | 'alert.resolved'; alert: Alert };

export function toAlert(r: AlertsTable): Alert {
  return {
    id: r.id,
    rule: r.rule,
    subject: r.subject,
    severity: r.severity as Severity,
    state: r.resolved_at ? 'resolved' : 'open',
    message: r.message,
    value: r.value === null ? null : Number(r.value),
    threshold: r.threshold === null ? null : Number(r.threshold),
    openedAt: r.opened_at,
    resolvedAt: r.resolved_at,
    lastSeenAt: r.last_seen_at,
  };
}

const openKey = (rule: string, subject: string) => `${rule}|${subject}`;

/**
 * Alerts in the database: at most one open per rule and subject (a unique key, so several sentinels
 * agree), opened and resolved with timestamps. Only the sentinel whose write opened or resolved an
 * alert reports it, so each transition is logged and posted once.
 */
export class AlertService {
  constructor(
    private readonly db: Database,
    private readonly log: Logger,
  ) {}

  /**
   * Applies one round of evaluations: opens an alert per new finding, refreshes open ones, resolves
   * the open alerts of each evaluated rule (within what it covers) that were not found again.
   * Returns the alerts opened and resolved by this call, each also passed to `notify`.
   */
  async reconcile(
    evaluations: Evaluation[],
    notify: (event: AlertEvent) => void = () => undefined,
    now = Date.now(),
  ): Promise<{ opened: Alert[]; resolved: Alert[] }> {
    const at = new Date(now).toISOString();
    const open = await this.db.primary
      .selectFrom('alerts')
      .selectAll()
      .where('resolved_at', 'is', null)
      .execute();
    const byKey = new Map(open.map((r) => [openKey(r.rule, r.subject), r]));
    const opened: Alert[] = [];
    const resolved: Alert[] = [];
    for (const ev of evaluations) {
      const found = new Set<string>();
      for (const f of ev.findings) {
        const key = openKey(f.rule, f.subject);
        found.add(key);
        const values = {
          severity: f.severity,
          message: f.message,
          value: f.value ?? null,
          threshold: f.threshold ?? null,
          last_seen_at: at,
        };
        if (byKey.has(key)) {
          await this.db.primary.updateTable('alerts').set(values).where('open_key', '=', key).execute();
          continue;
        }
        const row: AlertsTable = {
          id: newId(now),
          rule: f.rule,
          subject: f.subject,
          ...values,
          opened_at: at,
          resolved_at: null,
          open_key: key,
        };
        try {
          await this.db.primary.insertInto('alerts').values(row).execute();
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          // Another sentinel opened it a moment ago.
          await this.db.primary.updateTable('alerts').set(values).where('open_key', '=', key).execute();
          continue;
        }
        const alert = toAlert(row);
        opened.push(alert);
        this.log.warn({ alert }, `alert opened: ${alert.rule} ${alert.subject}: ${alert.message}`);
        notify({ type: 'alert.opened', alert });
      }
      for (const r of open) {
        const key = openKey(r.rule, r.subject);
        if (r.rule !== ev.rule || found.has(key) || (ev.covers && !ev.covers(r.subject))) continue;
        const res = await this.db.primary
          .updateTable('alerts')
          .set({ resolved_at: at, open_key: null })
          .where('id', '=', r.id)
          .where('resolved_at', 'is', null)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 0) continue; // resolved by another sentinel
        const alert = toAlert({ ...r, resolved_at: at, open_key: null });
        resolved.push(alert);
        this.log.info({ alert }, `alert resolved: ${alert.rule} ${alert.subject}`);
        notify({ type: 'alert.resolved', alert });
      }
    }
    return { opened, resolved };
  }

  /** Newest first; `before` is the id of the last alert of the previous page. Fetches limit+1 rows. */
  async list(state: 'open' | 'resolved' | 'all', limit: number, before?: string): Promise<Alert[]> {
    const rows = await this.db.read((db) => {
      let q = db.selectFrom('alerts').selectAll();
      if (state === 'open') q = q.where('resolved_at', 'is', null);
      if (state === 'resolved') q = q.where('resolved_at', 'is not', null);
      if (before) q = q.where('id', '<', before);
      return q
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
    });
    return rows.map(toAlert);
  }

  async countOpen(): Promise<number> {
    const r = await this.db.primary
      .selectFrom('alerts')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('resolved_at', 'is', null)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}

/**
 * Posts alert events as JSON to each URL (operator-configured, so private addresses are fine):
 * a 5 s bound per attempt, at most 2 attempts, failures logged. Never blocks the caller.
 */
export class AlertNotifier {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly urls: string[],
    private readonly log: Logger,
    private readonly timeoutMs = 5000,
  ) {}

  send = (event: AlertEvent): void => {
    for (const url of this.urls) {
      const p = this.post(url, event).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  };

  private async post(url: string, event: AlertEvent): Promise<void> {
    const body = JSON.stringify(event);
    let last = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'vodcloud-sentinel' },
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
          redirect: 'manual',
        });
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
    }
    this.log.warn(
      { url: url.replace(/\/\/[^@/]*@/, '//***@'), type: event.type, alertId: event.alert.id, err: last },
      'alert webhook failed after 2 attempts',
    );
  }

  /** Waits for posts in flight (each is bounded by 2 × the timeout). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
