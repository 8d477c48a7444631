import type { ClassScores, Detection } from '@vodcloud/contracts';
import type { VideosTable } from '../../db/schema';

/** Frames shown in the video object (the most suspicious); all of them are at GET …/detection. */
export const FRAMES_IN_VIDEO = 10;

/** The detection as the video object shows it: the FRAMES_IN_VIDEO frames with the highest non-neutral score. */
export function forVideo(d: Detection | null): Detection | null {
  if (!d?.moderation || d.moderation.frames.length <= FRAMES_IN_VIDEO) return d;
  const risk = (s: ClassScores) => Math.max(s.porn, s.sexy, s.hentai);
  const top = [...d.moderation.frames]
    .sort((a, b) => risk(b.scores) - risk(a.scores) || a.time - b.time)
    .slice(0, FRAMES_IN_VIDEO)
    .sort((a, b) => a.time - b.time);
  return { ...d, moderation: { ...d.moderation, frames: top } };
}

/** Held by moderation: not played while its detection runs (policy `hold`) or while it waits for a moderator. */
export const isHeld = (row: Pick<VideosTable, 'review_status'>) =>
  row.review_status === 'checking' || row.review_status === 'pending';
