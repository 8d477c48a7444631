import { describe, expect, it } from 'vitest';
import type { BeaconsTable } from '../../db/schema';
import { summarizeView } from './views';

const T0 = Date.parse('2026-12-06T10:00:00Z');
let n = 0;
const ev = (event: string, sec: number, extra: Partial<BeaconsTable> = {}): BeaconsTable => ({
  id: `id${n++}`,
  tenant_id: 't',
  video_id: 'v',
  playback_id: 'p',
  view_id: 'view-1',
  event,
  position: 0,
  startup_ms: null,
  watched_sec: null,
  error: null,
  user_agent:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  referrer: 'https://blog.example/a',
  created_at: new Date(T0 + sec * 1000).toISOString(),
  ...extra,
});

describe('summarizeView', () => {
  it('takes the running total of played seconds, so a lost batch loses no watch time', () => {
    const rows = [
      ev('view_start', 0, { seq: 0 }),
      ev('playing', 1, { seq: 1, startup_ms: 700 }),
      ev('heartbeat', 11, { seq: 2, watched_sec: 10, played_sec: 10 }),
      // seq 3 (10 s more) never arrived
      ev('view_end', 31, { seq: 4, watched_sec: 10, played_sec: 30 }),
    ];
    const v = summarizeView(rows, T0 + 40_000, 300_000);
    expect(v).toMatchObject({ played: 1, watch_seconds: 30, startup_ms: 700, closed: 1, browser: 'Chrome' });
    expect(v.referrer_host).toBe('blog.example');
    // Without totals (an older player), the deltas add up.
    const old = rows.map((r) => ({ ...r, played_sec: null }));
    expect(summarizeView(old, T0 + 40_000, 300_000).watch_seconds).toBe(20);
  });

  it('counts a repeated seq once, a rebuffer by its reported duration, and a stall the view ended in', () => {
    const rows = [
      ev('view_start', 0, { seq: 0 }),
      ev('playing', 1, { seq: 1, startup_ms: 500, rendition: '720p' }),
      ev('rebuffer_start', 5, { seq: 2 }),
      ev('rebuffer_end', 8, { seq: 3, rebuffer_ms: 2500 }),
      ev('rebuffer_end', 8, { seq: 3, rebuffer_ms: 2500 }), // the same batch twice
      ev('heartbeat', 10, { seq: 4, watched_sec: 6, rendition: '360p' }),
      ev('rebuffer_start', 12, { seq: 5 }),
      ev('heartbeat', 15, { seq: 6, watched_sec: 2 }),
    ];
    const v = summarizeView(rows, T0 + 20_000, 300_000);
    expect(v).toMatchObject({ rebuffer_count: 2, rebuffer_ms: 2500 + 3000, watch_seconds: 8, closed: 0 });
    expect(JSON.parse(v.renditions)).toEqual(['720p', '360p']);
    // Silent past the timeout: closed, though no view_end came.
    expect(summarizeView(rows, T0 + 15_000 + 300_001, 300_000).closed).toBe(1);
  });

  it('a view that never played does not count as played, but its errors do', () => {
    const v = summarizeView(
      [ev('view_start', 0, { seq: 0 }), ev('error', 2, { seq: 1, error: 'E: 403' })],
      T0 + 5000,
      300_000,
    );
    expect(v).toMatchObject({ played: 0, errors: 1, startup_ms: null, watch_seconds: 0 });
  });
});
