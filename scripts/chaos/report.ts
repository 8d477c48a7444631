// The figures of a chaos run: one object (written with --json) and the table printed at the end.
import type { FaultResult } from './scheduler';
import type { Outage, PhaseCounts } from './stats';
import type { UploadRecord } from './uploader';
import type { JobFigures, OrphanFigures, UploadFigures, VideoFigures } from './verify';

export interface Figures {
  seed: number;
  durationSeconds: number;
  uploaders: number;
  players: number;
  uploads: UploadFigures;
  videos: VideoFigures;
  faults: FaultResult[];
  /** Processes that exited by themselves (restarted as a supervisor would). */
  crashes: string[];
  /** Every upload of the run (for --json). */
  records: Omit<UploadRecord, 'data' | 'headers'>[];
  playback: {
    plays: number;
    segments: number;
    failedRequests: number;
    worstOutage?: Outage;
    outages: number;
  };
  phases: Record<string, PhaseCounts>;
  orphans: OrphanFigures;
  jobs: JobFigures;
  drainSeconds: number;
  /** Why the run failed its goals (empty: it passed). */
  failures: string[];
}

/** The goals: nothing lost, stuck, errored, mismatched, orphaned or done twice. */
export function failuresOf(f: Omit<Figures, 'failures'>): string[] {
  const out: string[] = [];
  const n = (list: unknown[], what: string) => list.length && out.push(`${list.length} ${what}`);
  n(f.uploads.lost, 'uploads lost');
  n(f.uploads.mismatched, 'sources not byte-exact');
  n(f.videos.stuck, 'videos stuck');
  n(f.videos.errored, 'videos errored');
  n(f.orphans.orphans, 'orphan objects');
  n(f.orphans.openMultipart, 'open multipart uploads of completed uploads');
  n(f.jobs.duplicateDeliveries, 'videos with an event delivered under two ids');
  n(f.jobs.duplicateEvents, 'videos with an event recorded twice');
  n(f.jobs.readyNotDelivered, 'ready videos whose video.ready was never delivered');
  n(f.crashes, 'processes exited by themselves');
  return out;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const sum = (o: Partial<Record<string, number>>) =>
  Object.values(o).reduce<number>((a, b) => a + (b ?? 0), 0);
const detail = (o: Partial<Record<string, number>>) =>
  Object.entries(o)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

function faultRows(faults: FaultResult[]): string[][] {
  const by = new Map<string, { done: number; skipped: number; failed: number; recovery: number[] }>();
  for (const f of faults) {
    const key = f.kind === 'kill' ? `kill ${f.target!.replace(/-\d+$/, '')}` : f.kind;
    const e = by.get(key) ?? { done: 0, skipped: 0, failed: 0, recovery: [] };
    if (f.skipped) e.skipped++;
    else if (f.error) e.failed++;
    else {
      e.done++;
      e.recovery.push(f.recoverySeconds ?? 0);
    }
    by.set(key, e);
  }
  return [...by].map(([k, e]) => [
    k,
    `${e.done} done${e.failed ? `, ${e.failed} failed` : ''}${e.skipped ? `, ${e.skipped} skipped` : ''}`,
    e.recovery.length
      ? `back after ${Math.min(...e.recovery).toFixed(1)}–${Math.max(...e.recovery).toFixed(1)} s`
      : '',
  ]);
}

export function renderFigures(f: Figures): string {
  const u = f.uploads;
  const v = f.videos;
  const w = f.playback.worstOutage;
  const rows: string[][] = [
    ['figure', 'value', 'detail'],
    [
      'uploads attempted',
      String(u.attempted),
      `${u.notCreated} never created (POST /v1/uploads kept failing)`,
    ],
    [
      'uploads completed byte-exact',
      `${u.byteExact} / ${u.completed}`,
      `${u.mismatched.length} not byte-exact`,
    ],
    ['uploads lost', String(u.lost.length), `${u.resumedOnAnotherNode} resumed on another upload node`],
    [
      'videos ready',
      String(v.ready),
      `of ${u.completed} completed uploads` +
        (v.toReadySeconds
          ? `; upload to ready p50 ${v.toReadySeconds.p50.toFixed(1)} s, max ${v.toReadySeconds.max.toFixed(1)} s`
          : ''),
    ],
    ['videos stuck', String(v.stuck.length), v.stuck.map((s) => s.status).join(', ')],
    ['videos errored', String(v.errored.length), [...new Set(v.errored.map((e) => e.code))].join(', ')],
    ['videos nobody uploaded', String(v.unknown.length), v.unknown.map((s) => s.status).join(', ')],
    ...faultRows(f.faults),
    ['processes exited by themselves', String(f.crashes.length), f.crashes.join('; ')],
    [
      'worst playback outage',
      w ? `${(w.endedAt - w.startedAt).toFixed(1)} s` : '0 s',
      w
        ? `player ${w.player}, ${w.failures} failed requests from t=${w.startedAt.toFixed(0)} s (${w.phase})`
        : '',
    ],
    [
      'playback',
      `${f.playback.plays} plays`,
      `${f.playback.segments} segments, ${f.playback.failedRequests} failed requests`,
    ],
    ['orphan objects', String(f.orphans.orphans.length), `of ${f.orphans.objects} objects`],
    ['open multipart uploads', String(f.orphans.openMultipart.length), 'of completed uploads'],
    [
      'duplicate effects',
      String(f.jobs.duplicateDeliveries.length + f.jobs.duplicateEvents.length),
      `${f.jobs.readyNotDelivered.length} video.ready not delivered`,
    ],
    ['jobs at the end', detail(f.jobs.queue) || 'none', `${f.jobs.failedJobs.length} failed`],
    ['drain', `${f.drainSeconds.toFixed(0)} s`, ''],
  ];
  const phaseRows = [
    ['phase', 'seconds', 'requests', '5xx', 'no answer'],
    ...Object.entries(f.phases).map(([name, c]) => [
      name,
      c.seconds.toFixed(0),
      String(c.requests),
      `${sum(c.fiveXX)}${sum(c.fiveXX) ? ` (${detail(c.fiveXX)})` : ''}`,
      `${sum(c.noAnswer)}${sum(c.noAnswer) ? ` (${detail(c.noAnswer)})` : ''}`,
    ]),
  ];
  const lists = [
    ...u.lost.map((l) => `lost: video ${l.videoId}: ${l.error ?? ''}`),
    ...u.mismatched.map((m) => `not byte-exact: video ${m.videoId}: ${m.got}`),
    ...v.stuck.map((s) => `stuck: video ${s.videoId} ${s.status}`),
    ...v.errored.map((e) => `errored: video ${e.videoId}: ${e.code} ${e.message ?? ''}`),
    ...f.orphans.orphans.slice(0, 20).map((o) => `orphan: ${o.key} (${o.why})`),
    ...f.orphans.openMultipart.slice(0, 20).map((o) => `open multipart: ${o.key} (${o.why})`),
    ...f.jobs.duplicateDeliveries.map((d) => `delivered twice: ${d.type} of ${d.videoId} under ${d.ids} ids`),
    ...f.jobs.duplicateEvents.map((d) => `recorded twice: ${d.type} of ${d.videoId} (${d.count} rows)`),
    ...f.jobs.readyNotDelivered.map((id) => `video.ready not delivered: ${id}`),
    ...f.jobs.failedJobs.slice(0, 20).map((j) => `failed job: ${j.queue}/${j.name}: ${j.reason}`),
  ];
  return [
    table(rows),
    '',
    table(phaseRows),
    ...(lists.length ? ['', ...lists] : []),
    '',
    f.failures.length
      ? `FAILED: ${f.failures.join('; ')}`
      : 'PASSED: nothing lost, stuck, orphaned or duplicated',
  ].join('\n');
}
