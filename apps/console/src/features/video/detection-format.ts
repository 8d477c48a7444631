// Formatting shared by the video page's Detection panel and the Moderation page: times of the source, scores
// of the moderation model, and who decided a review.
import type { components } from '@vodcloud/sdk';

export type Detection = components['schemas']['Detection'];
export type ClassScores = components['schemas']['ClassScores'];
export type ModerationClass = keyof ClassScores;

/** The model's classes, in the order they are shown. */
export const CLASSES: readonly ModerationClass[] = ['porn', 'sexy', 'hentai', 'drawing', 'neutral'];

/** Seconds of the source as m:ss.cc (h:mm:ss.cc from an hour): 2 → 0:02.00. */
export function formatTime(sec: number): string {
  const cs = Math.round(Math.max(0, sec) * 100);
  const h = Math.floor(cs / 360_000);
  const m = Math.floor((cs % 360_000) / 6000);
  const s = Math.floor((cs % 6000) / 100);
  const frac = String(cs % 100).padStart(2, '0');
  const ss = `${String(s).padStart(2, '0')}.${frac}`;
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A score (0–1) as a percentage with at most one decimal: 0.9731 → 97.3%. */
export function formatScore(score: number, lang: string): string {
  return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(score);
}

/** The class with the highest score. */
export function topClass(scores: ClassScores): ModerationClass {
  return CLASSES.reduce((best, c) => (scores[c] > scores[best] ? c : best), CLASSES[0]!);
}

/** `user:{id}` or `api_key:{id}` → who, for people: the signed-in user is “you”. */
export function decider(
  by: string | null | undefined,
  me: { id: string } | undefined,
): { kind: 'you' | 'user' | 'key' | 'unknown'; id: string } {
  if (!by) return { kind: 'unknown', id: '' };
  const [kind, id = ''] = by.split(':');
  if (kind === 'user') return { kind: me && id === me.id ? 'you' : 'user', id };
  if (kind === 'api_key') return { kind: 'key', id };
  return { kind: 'unknown', id: by };
}
