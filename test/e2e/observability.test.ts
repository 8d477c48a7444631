// Issue 22: what an operator sees. The real `vodcloud serve` (a pipe: JSON lines; a pseudo-terminal made by
// util-linux `script`: readable lines), its /metrics after real traffic (an upload transcoded to ready), and
// the request id and job fields on its log lines; and that the shipped Grafana dashboard and Prometheus
// alert rules (deploy/observability/) query only metrics such servers export.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BIN, type ServeHandle, serve } from '../support/cli';
import { databaseEngines, type TestDatabase } from '../support/databases';
import { isExported, metricFamilies, metricNames, withoutGrafanaVariables } from '../support/promql';
import { waitFor } from '../support/uploads';
import { makeClip, uploadUntilReady } from '../support/videos';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'vodobs-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Parses the Prometheus text format: sample name → labels of each sample. */
function parseSamples(text: string): Map<string, Array<Record<string, string>>> {
  const out = new Map<string, Array<Record<string, string>>>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    labels.__value = m[3]!;
    out.set(m[1]!, [...(out.get(m[1]!) ?? []), labels]);
  }
  return out;
}

/** The `# TYPE` lines of every /metrics scraped here: the metric families the server declares. */
const scraped: string[] = [];

const base = (dir: string) => ({
  VOD_DATA_DIR: dir,
  VOD_PORT: '0',
  VOD_HOST: '127.0.0.1',
  VOD_ADMIN_API_KEY: 'obs-admin-key-0123456789abcdef',
  VOD_LOG_LEVEL: 'info',
});

describe('a running server, after an upload', () => {
  let s: ServeHandle;
  let metrics: Map<string, Array<Record<string, string>>>;
  let lines: Array<Record<string, unknown>>;
  const requestId = 'obs-test-request-1';
  let videoId: string;
  let tenantId: string;

  beforeAll(async () => {
    const dir = tempDir();
    s = await serve([], base(dir), 60_000);
    const admin = {
      authorization: 'Bearer obs-admin-key-0123456789abcdef',
      'content-type': 'application/json',
    };
    const tenant = await (
      await fetch(`${s.url}/v1/tenants`, { method: 'POST', headers: admin, body: '{"name":"obs"}' })
    ).json();
    tenantId = tenant.id;
    const key = await (
      await fetch(`${s.url}/v1/tenants/${tenant.id}/api-keys`, {
        method: 'POST',
        headers: { ...admin, 'x-request-id': requestId },
        body: '{"name":"k","scopes":["read","write"]}',
      })
    ).json();
    const auth = { authorization: `Bearer ${key.key}` };
    const clip = await makeClip(path.join(dir, 'clip.mp4'), { duration: 4, audio: true });
    const video = await uploadUntilReady(s.url, auth, clip, {}, 120_000);
    videoId = video.id;
    // Playback: a playlist and a segment (delivery bytes).
    const master = await (await fetch(video.playback.hlsUrl)).text();
    const variant = new URL(master.split('\n').find((l) => l && !l.startsWith('#'))!, video.playback.hlsUrl);
    const list = await (await fetch(variant)).text();
    const seg = new URL(list.split('\n').find((l) => l && !l.startsWith('#'))!, variant);
    expect((await fetch(seg)).status).toBe(200);
    await fetch(`${s.url}/livez`);
    const text = await waitFor(async () => {
      const t = await (await fetch(`${s.url}/metrics`)).text();
      return /vod_delivery_bytes_total\{/.test(t) ? t : undefined;
    });
    metrics = parseSamples(text);
    scraped.push(text);
    s.child.kill('SIGTERM');
    await s.exited;
    lines = s
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  }, 240_000);

  it('exports the process metrics under their standard names, and none prefixed', () => {
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ])
      expect(metrics.has(name), name).toBe(true);
    expect([...metrics.keys()].filter((n) => /^vod_(process|nodejs)_/.test(n))).toEqual([]);
  });

  it('exports the platform metrics, with what the traffic did', () => {
    const value = (name: string, match: Record<string, string> = {}) =>
      (metrics.get(name) ?? [])
        .filter((l) => Object.entries(match).every(([k, v]) => l[k] === v))
        .reduce((a, l) => a + Number(l.__value), 0);
    expect(value('vod_upload_received_bytes_total')).toBeGreaterThan(10_000);
    expect(value('vod_jobs_total', { name: 'video.process', outcome: 'completed' })).toBe(1);
    expect(value('vod_jobs_total', { name: 'video.chunk', outcome: 'completed' })).toBeGreaterThan(0);
    expect(value('vod_transcoded_seconds_total')).toBeGreaterThan(0);
    // The 4 s clip's published generation: 4 s of output per rendition, audio included.
    const usage = metrics.get('vod_transcode_usage_seconds_total') ?? [];
    expect(usage.map((l) => l.rendition)).toContain('audio');
    for (const l of usage) expect(Number(l.__value)).toBeCloseTo(4, 0);
    expect(value('vod_views_in_progress')).toBe(0);
    expect(value('vod_video_time_to_seconds_count', { stage: 'ready' })).toBe(1);
    expect(value('vod_delivery_bytes_total')).toBeGreaterThan(0);
    expect(value('vod_registry_session', { registry: 'local', state: 'connected' })).toBe(1);
    expect(value('vod_data_dir_size_bytes')).toBeGreaterThan(0);
    expect(metrics.has('vod_queue_jobs')).toBe(true);
    expect(metrics.has('vod_queue_oldest_waiting_seconds')).toBe(true);
    expect(metrics.has('vod_db_query_errors_total')).toBe(true);
    expect(metrics.has('vod_ffmpeg_processes')).toBe(true);
    // No label carries a video or tenant id.
    const all = JSON.stringify([...metrics.values()]);
    expect(all).not.toContain(videoId);
    expect(all).not.toContain(tenantId);
  });

  it('puts the request id on every line of a request, and job, video and tenant on job lines', () => {
    const ofRequest = lines.filter((l) => l.reqId === requestId);
    expect(ofRequest.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['incoming request', 'request completed']),
    );
    const jobLines = lines.filter((l) => l.job === 'video.process');
    expect(jobLines.length).toBeGreaterThan(0);
    for (const l of jobLines) expect(l).toMatchObject({ videoId, tenantId });
    // Probes are logged at debug (not at info).
    expect(lines.filter((l) => (l.req as { url?: string } | undefined)?.url === '/livez')).toEqual([]);
    expect(lines.find((l) => /serving .* on http/.test(String(l.msg)))).toBeDefined();
  });
});

const postgres = databaseEngines('observability: a node with a read replica').find(
  (e) => e.engine === 'postgres',
)!;

// The metrics some deployments only have: database pools (not on SQLite) and the sentinel's replica gauges
// (with VOD_DB_REPLICA_URL). A monitor and api node on PostgreSQL, the replica URL naming the same
// database (it answers; its lag is "not measurable", not being a standby).
describe.skipIf(!postgres.available)('a monitor node on PostgreSQL with a read replica', () => {
  let db: TestDatabase;
  let text: string;

  beforeAll(async () => {
    db = await postgres.create();
    const s = await serve([], {
      ...base(tempDir()),
      VOD_ROLES: 'api,monitor',
      VOD_DB_URL: db.url,
      VOD_DB_REPLICA_URL: db.url,
    });
    try {
      text = await waitFor(async () => {
        const t = await (await fetch(`${s.url}/metrics`)).text();
        return /^vod_db_replica_up 1$/m.test(t) ? t : undefined;
      });
      scraped.push(text);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  }, 120_000);
  afterAll(() => db?.drop());

  it('exports the pool use and the replica seen by the sentinel', () => {
    const samples = parseSamples(text);
    const max = (samples.get('vod_db_pool_connections') ?? []).find(
      (l) => l.target === 'primary' && l.state === 'max',
    );
    expect(Number(max?.__value)).toBeGreaterThan(0);
    expect(samples.get('vod_db_replica_up')?.[0]?.__value).toBe('1');
    expect(samples.has('vod_db_replica_lag_seconds')).toBe(true);
  });
});

/** Series Prometheus writes itself for every target (not in any /metrics). */
const WRITTEN_BY_PROMETHEUS = ['up'];
const repo = path.resolve(import.meta.dirname, '../..');

describe('the shipped dashboard and alert rules', () => {
  const families = () => {
    const all = new Map<string, string>();
    for (const text of scraped) for (const [name, type] of metricFamilies(text)) all.set(name, type);
    if (!postgres.available) {
      // Without PostgreSQL, the families only a node with a replica declares are looked up in the code.
      const sentinel = readFileSync(path.join(repo, 'apps/server/src/modules/monitor/sentinel.ts'), 'utf8');
      for (const name of ['vod_db_replica_up', 'vod_db_replica_lag_seconds'])
        if (sentinel.includes(`'${name}'`)) all.set(name, 'gauge');
    }
    return all;
  };
  const missing = (exprs: string[]) => {
    const known = families();
    expect(known.size).toBeGreaterThan(40); // both scrapes ran
    return [...new Set(exprs.flatMap((e) => metricNames(withoutGrafanaVariables(e))))].filter(
      (name) => !isExported(name, known) && !WRITTEN_BY_PROMETHEUS.includes(name),
    );
  };

  it('the Grafana dashboard queries only metrics the server exports', () => {
    const dash = JSON.parse(
      readFileSync(path.join(repo, 'deploy/observability/grafana/vodcloud.json'), 'utf8'),
    );
    const panels = (dash.panels as Array<{ type: string; targets?: Array<{ expr: string }> }>).filter(
      (p) => p.type !== 'row',
    );
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(panels.length);
    // The variables' label_values(selector, label) queries.
    for (const v of dash.templating.list as Array<{ type: string; query: { query: string } }>) {
      if (v.type !== 'query') continue;
      const m = /^label_values\((.+),\s*\w+\)$/.exec(v.query.query);
      expect(m, v.query.query).not.toBeNull();
      exprs.push(m![1]!);
    }
    expect(missing(exprs)).toEqual([]);
    // Every metric family of the issue is on the dashboard.
    const shown = new Set(exprs.flatMap((e) => metricNames(withoutGrafanaVariables(e))));
    for (const name of [
      'vod_queue_jobs',
      'vod_queue_oldest_waiting_seconds',
      'vod_jobs_total',
      'vod_transcoded_seconds_total',
      'vod_ffmpeg_processes',
      'vod_delivery_bytes_total',
      'vod_jit_wait_seconds_bucket',
      'vod_video_time_to_seconds_bucket',
      'vod_upload_received_bytes_total',
      'vod_webhook_deliveries_total',
      'vod_webhook_delivery_failures_total',
      'vod_transcode_usage_seconds_total',
      'vod_views_in_progress',
      'vod_db_pool_connections',
      'vod_db_query_errors_total',
      'vod_registry_session',
      'vod_http_request_duration_seconds_bucket',
    ])
      expect(shown.has(name), name).toBe(true);
  });

  it('the Prometheus alert rules name only metrics the server exports', () => {
    const file = readFileSync(path.join(repo, 'deploy/observability/prometheus/alerts.yaml'), 'utf8');
    const groups = parse(file).groups as Array<{ rules: Array<{ expr: string }> }>;
    const exprs = groups.flatMap((g) => g.rules.map((r) => r.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(7);
    expect(missing(exprs)).toEqual([]);
  });

  it('would notice a metric the server does not export', () => {
    expect(missing(['sum(rate(vod_http_requests_count[5m])) + vod_no_such_metric'])).toEqual([
      'vod_http_requests_count',
      'vod_no_such_metric',
    ]);
  });
});

describe('log format', () => {
  /** Runs serve until it prints where it serves, then stops it; returns everything it wrote. */
  const runUntilServing = (cmd: string, args: string[], env: Record<string, string>) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no start line:\n${out}`));
      }, 60_000);
      const onData = (d: Buffer) => {
        out += d;
        if (/serving .* on http/.test(out)) child.kill('SIGTERM');
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('close', () => {
        clearTimeout(timer);
        resolve(out);
      });
    });

  it('writes JSON lines to a pipe and readable lines to a terminal; VOD_LOG_FORMAT forces either', async () => {
    const { VOD_ADMIN_API_KEY: _, ...env } = base(tempDir()); // a first start: it makes an admin key
    const piped = await runUntilServing(process.execPath, [BIN, 'serve'], env);
    const first = piped.split('\n').filter(Boolean);
    for (const l of first) expect(() => JSON.parse(l), l).not.toThrow();
    // The first start's admin key is a record of its own, readable by a person and by jq.
    expect(first.map((l) => JSON.parse(l)).find((l) => l.adminApiKey)?.msg).toMatch(
      /First start: created the platform admin API key vk_\S+ \(shown only this once/,
    );
    const serveCmd = `${process.execPath} ${BIN} serve`;
    const tty = await runUntilServing('script', ['-qfec', serveCmd, '/dev/null'], base(tempDir()));
    expect(tty).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: .*vodcloud \S+ serving .* on http/m);
    expect(tty).not.toMatch(/^\{"level"/m);
    const forced = await runUntilServing('script', ['-qfec', serveCmd, '/dev/null'], {
      ...base(tempDir()),
      VOD_LOG_FORMAT: 'json',
    });
    expect(forced).toMatch(/^\{"level":30,.*serving/m);
    const pretty = await runUntilServing(process.execPath, [BIN, 'serve'], {
      ...base(tempDir()),
      VOD_LOG_FORMAT: 'pretty',
    });
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: .*serving/m);
  }, 240_000);
});
