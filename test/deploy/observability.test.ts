/**
 * deploy/observability (issue 22): the alert rules mirror the sentinel's rules (one alert each, its
 * severity, its default threshold from the configuration), every rule is well-formed PromQL with valid
 * durations; the Compose scrape config lists exactly the vodcloud nodes of deploy/compose.yaml with their
 * role; the Kubernetes PrometheusRule carries the same rules. That every metric they name is exported is
 * checked against a running server in test/e2e/observability.test.ts. (promtool is not installed here:
 * Debian ships it only in the ~96 MB prometheus package.)
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../apps/server/src/config';
import { RULES } from '../../apps/server/src/modules/monitor/rules';
import { metricNames } from '../support/promql';

const repo = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(repo, file), 'utf8');
const ALERTS = 'deploy/observability/prometheus/alerts.yaml';

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const groups = (parse(read(ALERTS)) as { groups: Array<{ name: string; rules: AlertRule[] }> }).groups;
const rules = groups.flatMap((g) => g.rules);

type RuleId = (typeof RULES)[keyof typeof RULES];
const t = loadConfig({}, { VOD_DATA_DIR: '/tmp/vod-observability-probe' }).alerts;
/** Each sentinel rule's alert, the sentinel's severity, and what its expression must compare with (defaults). */
const MIRRORS: Record<RuleId, { alert: string; severity: 'critical' | 'warning'; compares: string[] }> = {
  no_healthy_provider: { alert: 'VodcloudNoHealthyProvider', severity: 'critical', compares: ['< 1'] },
  rpc_error_rate: {
    alert: 'VodcloudRpcErrorRate',
    severity: 'warning',
    compares: [`> ${t.rpcErrorRatePercent}`, `>= ${t.rpcMinCalls}`, `[${t.rpcWindowMinutes}m]`],
  },
  rpc_p95: {
    alert: 'VodcloudRpcSlow',
    severity: 'warning',
    compares: [`> ${t.rpcP95Ms / 1000}`, `>= ${t.rpcMinCalls}`, `[${t.rpcWindowMinutes}m]`],
  },
  queue_backlog: { alert: 'VodcloudQueueBacklog', severity: 'warning', compares: [`> ${t.queueWaiting}`] },
  queue_wait: { alert: 'VodcloudQueueWait', severity: 'warning', compares: [`> ${t.queueWaitSeconds}`] },
  disk_free: { alert: 'VodcloudDiskFree', severity: 'critical', compares: [`< ${t.diskFreePercent}`] },
  db_replica: { alert: 'VodcloudDbReplica', severity: 'critical', compares: [`> ${t.dbReplicaLagSeconds}`] },
};
/** Alerts with no sentinel counterpart. */
const EXTRA = ['VodcloudTargetDown'];

/** Prometheus's duration syntax (model.ParseDuration): units largest first, at least one. */
const DURATION = /^(?=\d)(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;

describe('deploy/observability/prometheus/alerts.yaml', () => {
  it('is groups of well-formed alerting rules', () => {
    expect(groups.length).toBeGreaterThan(0);
    for (const g of groups) {
      expect(g.name).toMatch(/\S/);
      expect(g.rules.length).toBeGreaterThan(0);
    }
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(r.alert, JSON.stringify(r)).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(r.for, r.alert).toMatch(DURATION);
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toMatch(/\S/);
      expect(r.annotations?.description, r.alert).toMatch(/\S/);
      expect(metricNames(r.expr).length, r.alert).toBeGreaterThan(0); // throws on a syntax error
      // Go templates: balanced and only the variables Prometheus provides.
      for (const text of Object.values(r.annotations ?? {}))
        for (const m of text.matchAll(/\{\{(.*?)\}\}/g))
          expect(m[1], r.alert).toMatch(/^\s*\$(labels\.\w+|value)\b/);
    }
  });

  it('has one alert per sentinel rule, with its severity and default thresholds', () => {
    expect(Object.keys(MIRRORS).sort()).toEqual(Object.values(RULES).sort());
    for (const [rule, m] of Object.entries(MIRRORS)) {
      const mirrors = rules.filter((r) => r.labels?.rule === rule);
      expect(
        mirrors.map((r) => r.alert),
        rule,
      ).toEqual([m.alert]);
      expect(mirrors[0]!.labels!.severity, rule).toBe(m.severity);
      const expr = mirrors[0]!.expr.replace(/\s+/g, ' ');
      for (const c of m.compares) expect(expr, rule).toContain(c);
    }
    const unmapped = rules.filter((r) => !r.labels?.rule).map((r) => r.alert);
    expect(unmapped).toEqual(EXTRA);
  });

  it('is what the rule parser rejects when broken (the checks above can fail)', () => {
    expect(() => metricNames('sum by (service) (rate(vod_jobs_total[5m])')).toThrow(/not PromQL/);
    expect('5x').not.toMatch(DURATION);
    expect('1h30m').toMatch(DURATION);
  });
});

describe('deploy/kubernetes/monitoring/prometheusrule.yaml', () => {
  it('carries the rules of alerts.yaml (regenerate: npx vitest run -u test/deploy/observability.test.ts)', async () => {
    const header = [
      `# Generated from ${ALERTS} by test/deploy/observability.test.ts: do not edit; edit alerts.yaml,`,
      '# then run `npx vitest run -u test/deploy/observability.test.ts`.',
      '# kube-prometheus-stack loads PrometheusRules whose labels match its ruleSelector (by default the label',
      '# release: <its Helm release name>): add that label in your overlay if yours selects by it.',
      '',
    ].join('\n');
    const object = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'vodcloud', labels: { 'app.kubernetes.io/name': 'vodcloud' } },
      spec: { groups },
    };
    await expect(header + stringify(object, { lineWidth: 0 })).toMatchFileSnapshot(
      path.join(repo, 'deploy/kubernetes/monitoring/prometheusrule.yaml'),
    );
    const kustomization = parse(read('deploy/kubernetes/monitoring/kustomization.yaml'));
    expect(kustomization.resources).toContain('prometheusrule.yaml');
  });

  it('the ServiceMonitor labels every target with its role, as the Compose config does', () => {
    const sm = parse(read('deploy/kubernetes/monitoring/servicemonitor.yaml'));
    expect(sm.spec.endpoints[0].relabelings).toContainEqual({
      sourceLabels: ['__meta_kubernetes_service_label_app_kubernetes_io_component'],
      targetLabel: 'role',
    });
  });
});

describe('deploy/observability/prometheus/prometheus.yml', () => {
  const config = parse(read('deploy/observability/prometheus/prometheus.yml'));

  it('loads the alert rules', () => {
    expect(config.rule_files).toEqual(['alerts.yaml']);
    for (const f of config.rule_files)
      expect(existsSync(path.join(repo, 'deploy/observability/prometheus', f))).toBe(true);
    expect(config.global.scrape_interval).toMatch(DURATION);
  });

  it('scrapes every vodcloud node of deploy/compose.yaml, with its role', () => {
    const compose = parse(read('deploy/compose.yaml'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    const nodes = Object.entries(compose.services)
      .filter(([, s]) => s.environment?.VOD_ROLES)
      .map(([name, s]) => ({
        target: `${name}:${s.environment!.VOD_PORT ?? 8080}`,
        role: s.environment!.VOD_ROLES,
      }));
    expect(nodes.length).toBeGreaterThanOrEqual(5);
    const jobs = config.scrape_configs as Array<{
      job_name: string;
      metrics_path: string;
      static_configs: Array<{ targets: string[]; labels: { role: string } }>;
    }>;
    expect(jobs.map((j) => j.job_name)).toEqual(['vodcloud']);
    expect(jobs[0]!.metrics_path).toBe('/metrics');
    const scraped = jobs[0]!.static_configs.flatMap((c) =>
      c.targets.map((target) => ({ target, role: c.labels.role })),
    );
    expect(scraped.sort((a, b) => a.target.localeCompare(b.target))).toEqual(
      nodes.sort((a, b) => a.target.localeCompare(b.target)),
    );
  });
});
