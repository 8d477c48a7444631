/** One storyboard cue: the sprite tile shown for [start, end). */
export interface StoryboardCue {
  start: number;
  end: number;
  /** Absolute URL of the sprite image. */
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

const TIME = /^(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)$/;

export function parseVttTime(s: string): number | undefined {
  const m = TIME.exec(s.trim());
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/**
 * Parses a storyboard WebVTT (cues whose payload is `sprite.jpg#xywh=x,y,w,h`); sprite URLs are resolved
 * against `base` (the VTT's own URL), so absolute paths and their query strings (tokens) are kept.
 */
export function parseStoryboard(text: string, base: string): StoryboardCue[] {
  const cues: StoryboardCue[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.includes('-->')) continue;
    const [a, b] = line.split('-->');
    const start = parseVttTime(a ?? '');
    const end = parseVttTime((b ?? '').trim().split(/\s+/)[0] ?? '');
    const payload = (lines[i + 1] ?? '').trim();
    const m = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(payload);
    if (start === undefined || end === undefined || !m) continue;
    let url: string;
    try {
      url = new URL(m[1]!, base).href;
    } catch {
      continue;
    }
    cues.push({ start, end, url, x: +m[2]!, y: +m[3]!, w: +m[4]!, h: +m[5]! });
  }
  return cues;
}

/** The cue shown at time t (the last one whose start ≤ t). */
export function cueAt(cues: StoryboardCue[], t: number): StoryboardCue | undefined {
  let found: StoryboardCue | undefined;
  for (const c of cues) {
    if (c.start <= t) found = c;
    else break;
  }
  return found;
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatTime(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) sec = 0;
  const s = Math.floor(sec % 60);
  const m = Math.floor((sec / 60) % 60);
  const h = Math.floor(sec / 3600);
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** "1 minute 15 seconds" style text for aria-valuetext. */
export function spokenTime(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) sec = 0;
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec / 60) % 60);
  const s = Math.floor(sec % 60);
  const parts: string[] = [];
  if (h) parts.push(`${h} hour${h === 1 ? '' : 's'}`);
  if (m) parts.push(`${m} minute${m === 1 ? '' : 's'}`);
  parts.push(`${s} second${s === 1 ? '' : 's'}`);
  return parts.join(' ');
}
