import type { BeaconsTable, StatsViewsTable } from '../../db/schema';
import { clientOf } from './viewer';

/**
 * One view's figures from its raw beacons (any order; duplicates of a `seq` count once):
 * - started: the first event; `played`: it reached `playing` or reported watched seconds (only these count);
 * - watch time: the highest `playedSec` (the player's running total of seconds played, seeks and pauses
 *   excluded), or the sum of the `watchedSec` deltas when larger or alone (older players);
 * - startup: `startupMs` of the first `playing`;
 * - rebuffers: each `rebuffer_start`; the duration is `rebufferMs` of the matching `rebuffer_end`, else the time
 *   between the two events, else (a stall the view ended in) until the view's last event;
 * - errors: `error` events; renditions: those named by any event, in order of first use;
 * - closed: it sent `view_end`, or nothing for `timeoutMs`.
 */
export function summarizeView(rows: BeaconsTable[], now: number, timeoutMs: number): StatsViewsTable {
  const seen = new Set<number>();
  const events = [...rows]
    .sort((a, b) =>
      a.created_at === b.created_at ? (a.seq ?? 0) - (b.seq ?? 0) : a.created_at < b.created_at ? -1 : 1,
    )
    .filter((r) => {
      if (r.seq === null || r.seq === undefined) return true;
      if (seen.has(r.seq)) return false;
      seen.add(r.seq);
      return true;
    });
  const first = events[0]!;
  const last = events[events.length - 1]!;
  let played = false;
  let watch = 0;
  let playedTotal: number | undefined;
  let startup: number | null = null;
  let rebufferCount = 0;
  let rebufferMs = 0;
  let stallSince: number | undefined;
  let errors = 0;
  let endedAt: string | null = null;
  const renditions: string[] = [];
  let ua: string | null = null;
  let viewer: string | null = null;
  let referrer: string | null = null;
  for (const e of events) {
    const t = Date.parse(e.created_at);
    if (e.watched_sec) {
      watch += e.watched_sec;
      if (e.watched_sec > 0) played = true;
    }
    if (e.played_sec !== null && e.played_sec !== undefined) {
      playedTotal = Math.max(playedTotal ?? 0, e.played_sec);
      if (e.played_sec > 0) played = true;
    }
    if (e.rendition && !renditions.includes(e.rendition)) renditions.push(e.rendition);
    ua ??= e.user_agent;
    viewer ??= e.viewer_hash ?? null;
    referrer ??= hostOf(e.referrer);
    switch (e.event) {
      case 'playing':
        played = true;
        if (startup === null && e.startup_ms !== null && e.startup_ms !== undefined) startup = e.startup_ms;
        break;
      case 'rebuffer_start':
        if (stallSince === undefined) {
          rebufferCount += 1;
          stallSince = t;
        }
        break;
      case 'rebuffer_end':
        if (stallSince !== undefined) {
          rebufferMs += e.rebuffer_ms ?? Math.max(0, t - stallSince);
          stallSince = undefined;
        }
        break;
      case 'error':
        errors += 1;
        break;
      case 'view_end':
        endedAt ??= e.created_at;
        break;
    }
  }
  if (stallSince !== undefined) rebufferMs += Math.max(0, Date.parse(last.created_at) - stallSince);
  const client = clientOf(ua);
  const keep = renditions.slice(0, 20);
  return {
    video_id: first.video_id,
    view_id: first.view_id,
    tenant_id: first.tenant_id,
    started_at: first.created_at,
    last_event_at: last.created_at,
    ended_at: endedAt,
    closed: endedAt || Date.parse(last.created_at) < now - timeoutMs ? 1 : 0,
    played: played ? 1 : 0,
    // The player's running total when it sent one (a lost batch then loses nothing), else the sum of deltas.
    watch_seconds: Math.round(Math.max(watch, playedTotal ?? 0) * 1000) / 1000,
    startup_ms: startup,
    rebuffer_count: rebufferCount,
    rebuffer_ms: Math.round(rebufferMs),
    errors,
    renditions: JSON.stringify(keep),
    browser: client.browser,
    os: client.os,
    device: client.device,
    viewer_hash: viewer,
    referrer_host: referrer,
    updated_at: new Date(now).toISOString(),
  };
}

function hostOf(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).host.slice(0, 255) || null;
  } catch {
    return null;
  }
}
