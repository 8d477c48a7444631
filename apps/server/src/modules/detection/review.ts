import type { Detection } from '@vodcloud/contracts';
import type { VideosTable } from '../../db/schema';
import { AppError } from '../../lib/errors';
import { nowIso } from '../../lib/time';
import type { VideoService } from '../videos/service';
import { detectionOf } from './result';

/**
 * The moderation queue: videos the policy held for review (not playable meanwhile), and the moderators'
 * decisions. Approving makes the video playable; rejecting blocks it (as POST …/block does). A decision can
 * be changed: approving a rejected video unblocks it.
 */
export class ModerationReview {
  constructor(private readonly videos: VideoService) {}

  queue(tenantId: string, limit: number, afterId?: string): Promise<VideosTable[]> {
    return this.videos.repo.listInReview(tenantId, limit, afterId);
  }

  async decide(
    tenantId: string,
    videoId: string,
    decision: 'approved' | 'rejected',
    by: string | null,
  ): Promise<VideosTable> {
    const row = await this.videos.getRow(tenantId, videoId);
    const detection = detectionOf(row);
    if (!detection?.review)
      throw new AppError('conflict', 'The video is not in review (its detection did not send it to review)');
    const previous = detection.review.status;
    const next: Detection = {
      ...detection,
      review: { status: decision, decidedAt: nowIso(), decidedBy: by },
    };
    await this.videos.repo.update(tenantId, videoId, {
      detection: JSON.stringify(next),
      review_status: decision,
      updated_at: nowIso(),
    });
    if (decision === 'rejected') await this.videos.block(tenantId, videoId);
    else if (previous === 'rejected') await this.videos.unblock(tenantId, videoId);
    return this.videos.getRow(tenantId, videoId);
  }
}
