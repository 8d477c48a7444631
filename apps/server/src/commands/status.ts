// `vodcloud status`: the cluster as the API sees it, with an admin key — instances and their health,
// the answering node's readiness, queue depths and open alerts.

import type { Alert, ClusterInstance, ClusterView } from '@vodcloud/contracts';
import type { Command } from 'commander';
import type { z } from 'zod';
import { type ApiOptions, action, clientFrom, EXIT, emit, withApiOptions } from './api';
import { formatElapsed, shortTime, table } from './format';

type Instance = z.infer<typeof ClusterInstance>;
type AlertRow = z.infer<typeof Alert>;
interface Readiness {
  status: string;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

export interface StatusDoc {
  api: string;
  /** The answering node's GET /readyz. */
  ready: Readiness & { httpStatus: number };
  /** Every instance once (a node registers under each of its roles and RPC services), with those services. */
  instances: Array<Instance & { services: string[] }>;
  sentinels: number;
  queues: z.infer<typeof ClusterView>['queues'];
  alerts: { open: AlertRow[]; more: boolean };
}

async function readiness(base: string): Promise<StatusDoc['ready']> {
  try {
    const res = await fetch(new URL('/readyz', `${base.replace(/\/+$/, '')}/`), {
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json().catch(() => ({}))) as Partial<Readiness>;
    return { httpStatus: res.status, status: body.status ?? `HTTP ${res.status}`, checks: body.checks ?? [] };
  } catch (err) {
    return { httpStatus: 0, status: `no answer: ${(err as Error).message}`, checks: [] };
  }
}

export function mergeInstances(view: z.infer<typeof ClusterView>): StatusDoc['instances'] {
  const byId = new Map<string, Instance & { services: string[] }>();
  for (const s of view.services)
    for (const i of s.instances) {
      const seen = byId.get(i.id);
      if (seen) {
        seen.services.push(s.name);
        // Any service's health verdict that is not healthy wins (a sentinel probes the node, not the service).
        if (seen.health.status === 'healthy' || seen.health.status === 'unknown')
          if (i.health.status !== 'unknown') seen.health = i.health;
      } else byId.set(i.id, { ...i, services: [s.name] });
    }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

function human(d: StatusDoc, tty: boolean): string {
  const failing = d.ready.checks.filter((c) => !c.ok);
  const out: string[] = [
    `API ${d.api}: ${d.ready.status}` +
      (failing.length ? ` (${failing.map((c) => `${c.name}: ${c.detail}`).join('; ')})` : '') +
      ` — ${d.ready.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAIL'}`).join(', ')}`,
    '',
    `${d.instances.length} instance(s), health from ${d.sentinels} sentinel(s)`,
    table(
      ['INSTANCE', 'URL', 'ROLES', 'VERSION', 'UPTIME', 'LOAD', 'HEALTH'],
      d.instances.map((i) => [
        i.id,
        i.url ?? i.address,
        i.roles.join(',') || '-',
        i.version ?? '-',
        formatElapsed(i.uptimeSec * 1000),
        String(i.load),
        i.health.status + (i.health.status === 'unhealthy' && i.health.detail ? ` (${i.health.detail})` : ''),
      ]),
      tty,
    ).trimEnd(),
    '',
  ];
  const pending = d.queues.filter((q) => q.waiting + q.delayed + q.active > 0);
  out.push(
    pending.length
      ? table(
          ['QUEUE', 'JOB', 'WAITING', 'DELAYED', 'ACTIVE'],
          pending.map((q) => [
            q.queue ?? '?',
            q.name,
            String(q.waiting),
            String(q.delayed),
            String(q.active),
          ]),
          tty,
        ).trimEnd()
      : 'queues: no job pending',
    '',
  );
  out.push(
    d.alerts.open.length
      ? table(
          ['SEVERITY', 'RULE', 'SUBJECT', 'SINCE', 'MESSAGE'],
          d.alerts.open.map((a) => [a.severity, a.rule, a.subject, shortTime(a.openedAt), a.message]),
          tty,
          { 2: 40 },
        ).trimEnd() + (d.alerts.more ? '\n(more open alerts: GET /v1/admin/alerts?state=open)' : '')
      : 'alerts: none open',
  );
  return `${out.join('\n')}\n`;
}

export function registerStatusCommand(program: Command): void {
  withApiOptions(program.command('status'), 'a platform admin API key (default: $VODCLOUD_API_KEY)')
    .description(
      'the cluster through the API (admin key): instances with roles, version, load and health, the ' +
        "answering node's readiness, jobs pending per queue, open alerts",
    )
    .action(
      action(async (o: ApiOptions) => {
        const client = clientFrom(o);
        const [view, alerts, ready] = await Promise.all([
          client.get<z.infer<typeof ClusterView>>('/v1/admin/cluster'),
          client.get<{ data: AlertRow[]; nextCursor: string | null }>('/v1/admin/alerts', {
            state: 'open',
            limit: 100,
          }),
          readiness(client.base),
        ]);
        const doc: StatusDoc = {
          api: client.base,
          ready,
          instances: mergeInstances(view),
          sentinels: view.sentinels,
          queues: view.queues ?? [],
          alerts: { open: alerts.data, more: alerts.nextCursor !== null },
        };
        emit(o.json, doc, () => human(doc, Boolean(process.stdout.isTTY)));
        return EXIT.ok;
      }),
    );
}
