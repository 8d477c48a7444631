/**
 * deploy/kubernetes is validated on every `npm test`: scripts/k8s-validate.sh renders the base and each
 * overlay and checks every object offline (schemas, unknown fields, vodcloud's rules). The second part
 * breaks a copy of the tree in several ways and expects each to be reported, so the validator itself
 * cannot silently pass everything.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const script = path.join(repo, 'scripts/k8s-validate.sh');

function validate(...args: string[]) {
  const r = spawnSync(script, args, { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('deploy/kubernetes', () => {
  it('every rendered manifest is valid', () => {
    const { code, out } = validate();
    expect(out).toMatch(/^ok {3}base: \d+ objects/m);
    expect(out).toMatch(/^ok {3}overlays\/production: \d+ objects .*ServiceMonitor/m);
    expect(out).toMatch(/^ok {3}overlays\/production: \d+ objects .*PrometheusRule/m); // the alerts, schema-checked
    expect(out).toMatch(/^ok {3}overlays\/small: \d+ objects/m);
    expect(out).toMatch(/^ok {3}local\/vodcloud\.yaml: 1 objects \(Pod\)/m);
    expect(out).toMatch(/k8s-validate: 5 targets, \d+ objects, 0 problems/);
    expect(code).toBe(0);
  }, 120_000);

  it('renders the production overlay as kustomize would', () => {
    const { code, out } = validate('--print', 'overlays/production');
    expect(code).toBe(0);
    const docs = out.split(/^---$/m);
    const find = (kind: string, name: string) =>
      docs.find((d) => d.includes(`kind: ${kind}\n`) && d.includes(`  name: ${name}\n`)) ?? '';
    expect(find('Deployment', 'vodcloud-api')).toMatch(/replicas: 3/);
    expect(find('Deployment', 'vodcloud-worker')).not.toMatch(/^ {2}replicas:/m); // the HPA owns it
    expect(find('Deployment', 'vodcloud-worker')).toMatch(/name: VOD_FFMPEG_MAX_PROCESSES\n\s+value: "8"/);
    expect(find('HorizontalPodAutoscaler', 'vodcloud-worker')).toMatch(
      /type: External[\s\S]*vodcloud_queue_cpu_waiting/,
    );
    expect(find('Ingress', 'vodcloud')).toMatch(/secretName: vodcloud-tls/);
    for (const d of docs.filter((x) => x.includes('kind:') && !x.includes('kind: Namespace')))
      expect(d).toMatch(/namespace: vodcloud/);
  }, 120_000);

  describe('a broken copy is rejected', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vod-k8s-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const edit = (file: string, from: string | RegExp, to: string) => {
      const full = path.join(dir, file);
      const text = readFileSync(full, 'utf8');
      const next = text.replace(from, to);
      if (next === text) throw new Error(`${file}: ${from} not found`);
      writeFileSync(full, next);
    };

    it('names every problem', () => {
      cpSync(path.join(repo, 'deploy/kubernetes'), dir, { recursive: true });
      edit('base/worker.yaml', 'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false');
      edit('base/worker.yaml', 'terminationGracePeriodSeconds: 90', 'terminationGracePeriodSeconds: 60');
      edit(
        'base/stream.yaml',
        '          args: [serve]',
        '          args: [serve]\n          imagePullPolicyy: Always',
      );
      edit('base/configmap.yaml', /$/, '  VOD_NO_SUCH_SETTING: c2VhbGVk\n');
      edit('base/api.yaml', 'targetPort: http', 'targetPort: web');
      edit('overlays/production/kustomization.yaml', 'newTag: 0.1.0', 'newTag: latest');
      edit('overlays/small/hpa.yaml', 'name: vodcloud-worker', 'name: vodcloud-workers');
      edit('local/vodcloud.yaml', 'hostPort: 18080, ', '');
      edit('local/vodcloud.yaml', 'timeoutSeconds: 3', 'timeoutSeconds: "3"');
      const { code, out } = validate('--root', dir);
      expect(code).toBe(1);
      const expected = [
        'base: Deployment/vodcloud-worker: container vodcloud: readOnlyRootFilesystem is not true',
        'base: Deployment/vodcloud-worker: container vodcloud: terminationGracePeriodSeconds 60 does not exceed VOD_SHUTDOWN_TIMEOUT_MS plus the preStop pause (65000 ms)',
        `base: Deployment/vodcloud-stream: field: Object literal may only specify known properties, and '"imagePullPolicyy"' does not exist in type 'IContainer'.`,
        'base: Deployment/vodcloud-api: container vodcloud: vodcloud would refuse this configuration: unknown setting(s) VOD_NO_SUCH_SETTING',
        'base: Service/vodcloud-api: targetPort web is no container port of its pods',
        'overlays/production: Deployment/vodcloud-api: container migrate: image ghcr.io/vodcloud/vodcloud:latest is not pinned',
        'overlays/small: render: ',
        'HorizontalPodAutoscaler/vodcloud-workers matches 0 resources',
        'local/vodcloud.yaml: no container port has a hostPort',
        'local/vodcloud.yaml: Pod/vodcloud: schema: data/spec/containers/0/livenessProbe/timeoutSeconds must be integer',
      ];
      for (const line of expected) expect(out).toContain(line);
      expect(out).toMatch(/^FAIL base:/m);
      expect(out).toMatch(/^ok {3}secret\.example\.yaml/m);
    }, 120_000);
  });
});
