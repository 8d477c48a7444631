import { Counter, Histogram, type Registry } from 'prom-client';

/** Detection's Prometheus metrics (on the node that runs the video.detect job, and the provider's frames). */
export function detectionMetrics(registry: Registry) {
  return {
    runs: new Counter({
      name: 'vod_detections_total',
      help: 'Detection runs finished, by outcome (completed, failed) and the action the policy took (none, flagged, review, blocked)',
      labelNames: ['outcome', 'action'] as const,
      registers: [registry],
    }),
    seconds: new Histogram({
      name: 'vod_detection_seconds',
      help: 'Time of a detection run by part: qc (the decode with the quality checks), moderation (the model)',
      labelNames: ['part'] as const,
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    }),
    frames: new Counter({
      name: 'vod_moderation_frames_total',
      help: 'Frames scored by the moderation model on this node',
      registers: [registry],
    }),
  };
}
export type DetectionMetrics = ReturnType<typeof detectionMetrics>;
