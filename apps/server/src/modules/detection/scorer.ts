import type { ClassScores } from '@vodcloud/contracts';
import type { Classifier } from './model/classifier';

/** Frames sent to the model at once. */
const BATCH = 8;
/** Frames waiting for the model beyond which the decode waits (backpressure on ffmpeg's pipe). */
const MAX_WAITING = 4 * BATCH;

/**
 * Feeds frames from the decode to the model as they come: one batch in the model at a time, the decode
 * held back when the model falls behind. Scores come back in time order.
 */
export class FrameScorer {
  private waiting: Array<{ time: number; rgb: Buffer }> = [];
  private readonly scored: Array<{ time: number; scores: ClassScores }> = [];
  private running: Promise<void> | null = null;
  private failed: unknown = null;
  /** Time spent in the model (wall clock of its batches). */
  modelMs = 0;

  constructor(
    private readonly classifier: Classifier,
    private readonly signal?: AbortSignal,
  ) {}

  async add(frame: { time: number; rgb: Buffer }): Promise<void> {
    if (this.failed) throw this.failed;
    this.waiting.push(frame);
    if (!this.running && this.waiting.length >= BATCH) this.running = this.drain();
    while (this.waiting.length >= MAX_WAITING && this.running) await this.running;
  }

  /** Scores the frames still waiting and returns every frame's scores, in time order. */
  async finish(): Promise<Array<{ time: number; scores: ClassScores }>> {
    while (this.running) await this.running;
    if (this.waiting.length) {
      this.running = this.drain();
      await this.running;
    }
    if (this.failed) throw this.failed;
    return this.scored.sort((a, b) => a.time - b.time);
  }

  /** The decode failed: drop what waits (the batch in the model finishes and is discarded). */
  abandon(): void {
    this.waiting = [];
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length && !this.failed) {
        const batch = this.waiting.splice(0, BATCH);
        const t0 = performance.now();
        const scores = await this.classifier.classify(
          batch.map((f) => ({ rgb: f.rgb, size: 224 })),
          this.signal,
        );
        this.modelMs += performance.now() - t0;
        batch.forEach((f, i) => {
          const s = scores[i];
          if (s) this.scored.push({ time: f.time, scores: s });
        });
      }
    } catch (err) {
      this.failed = err;
    } finally {
      this.running = null;
    }
  }
}
