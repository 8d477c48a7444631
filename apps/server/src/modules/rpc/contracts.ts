import { ClassScores, QcResult } from '@vodcloud/contracts';
import { z } from 'zod';
import { StatsReport } from '../../lib/call-stats';
import { defineService } from './define';

const VideoRef = z.object({ tenantId: z.string().min(1).max(64), videoId: z.string().min(1).max(64) });

/** Provided by the `worker` role: work that needs ffmpeg and the video's source. */
export const mediaService = defineService({
  name: 'media',
  // One video's calls go to one worker, which then has its source cached locally.
  strategy: 'consistent_hash',
  methods: {
    /** What this worker can do right now (cheap; used for health and benchmarks). */
    capabilities: {
      input: z.object({}).strict().default({}),
      output: z.object({
        node: z.string(),
        encoders: z.array(z.string()),
        activeSegments: z.number().int(),
        uptimeSec: z.number(),
      }),
      idempotent: true,
      timeoutMs: 5_000,
    },
    /** ffprobe of the video's source, summarised. */
    probe: {
      input: VideoRef,
      output: z.object({
        container: z.string().nullable(),
        durationSec: z.number(),
        bitrate: z.number().nullable(),
        video: z
          .object({ codec: z.string(), width: z.number(), height: z.number(), fps: z.number().nullable() })
          .nullable(),
        audio: z.array(z.object({ codec: z.string(), channels: z.number(), sampleRate: z.number() })),
      }),
      idempotent: true,
      timeoutMs: 60_000,
    },
    /** A still of the source at a time and width, stored; returns its object key. */
    snapshot: {
      input: VideoRef.extend({
        time: z.number().min(0),
        width: z.number().int().min(16).max(3840).optional(),
        format: z.enum(['jpeg', 'webp']).default('jpeg'),
      }),
      output: z.object({ key: z.string(), width: z.number(), height: z.number(), time: z.number() }),
      idempotent: true,
      timeoutMs: 30_000,
    },
    /**
     * Just-in-time: makes one segment of one rendition of a generation that is not encoded yet, stores it
     * and returns its key. Concurrent calls for one segment share one encode; a stored one is returned as is.
     */
    segment: {
      input: VideoRef.extend({
        generation: z.string().min(1).max(64),
        rendition: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/),
        index: z.number().int().min(0),
      }),
      output: z.object({ key: z.string(), encoded: z.boolean(), ms: z.number() }),
      idempotent: true,
      timeoutMs: 20_000,
    },
  },
});

/**
 * Provided by workers: detection (modules/detection/provider.ts). The quality checks and the model's scores
 * of one video's source; the caller (the video.detect job) applies the tenant's policy and stores the result.
 */
export const detectionService = defineService({
  name: 'detection',
  // One video's calls go to one worker, which then has its source cached locally.
  strategy: 'consistent_hash',
  methods: {
    analyze: {
      input: VideoRef.extend({
        qc: z.boolean(),
        moderation: z
          .object({ intervalSec: z.number().min(1).max(600), maxFrames: z.number().int().min(1).max(300) })
          .nullable(),
      }),
      output: z.object({
        node: z.string(),
        qc: QcResult.nullable(),
        moderation: z
          .object({ model: z.string(), frames: z.array(z.object({ time: z.number(), scores: ClassScores })) })
          .nullable(),
        timings: z.object({ qcMs: z.number().nullable(), moderationMs: z.number().nullable() }),
      }),
      // Reads the source and returns a result: run again elsewhere when a worker dies mid-call.
      idempotent: true,
      // The caller sets a deadline from the video's duration; this is the default for short ones.
      timeoutMs: 10 * 60_000,
    },
  },
});

const StoredMedia = z.object({
  size: z.number(),
  durationSec: z.number(),
  container: z.string().nullable(),
  video: z.object({ codec: z.string(), width: z.number(), height: z.number() }).nullable(),
  audio: z.object({ codec: z.string(), sampleRate: z.number(), channels: z.number() }).nullable(),
});

/**
 * Provided by workers: the transfers and merges of live recordings (modules/recordings/provider.ts). The
 * calling jobs keep the state; these read a recorder's file or URL into storage, and merge stored parts.
 */
export const recordingService = defineService({
  name: 'recording',
  // One recording's calls go to one worker, which then has its parts on its disk.
  strategy: 'consistent_hash',
  methods: {
    /** A recorder's file (a path under VOD_RECORDING_DIRS, or a URL) stored at `key`, and probed. */
    ingest: {
      input: z.object({
        tenantId: z.string().min(1).max(64),
        location: z.discriminatedUnion('kind', [
          z.object({ kind: z.literal('path'), path: z.string().min(1).max(1000) }),
          z.object({ kind: z.literal('url'), url: z.string().min(1).max(2000) }),
        ]),
        key: z.string().min(1).max(300),
        deleteAfter: z.boolean(),
      }),
      output: StoredMedia,
      // Reads a file and writes one object: safe to run again elsewhere.
      idempotent: true,
      timeoutMs: 60 * 60_000,
    },
    /** A recording given by URL (a file or an HLS playlist, followed while it is live) stored at `key`. */
    fetch: {
      input: z.object({
        tenantId: z.string().min(1).max(64),
        url: z.string().min(1).max(2000),
        key: z.string(),
      }),
      output: StoredMedia.extend({
        kind: z.enum(['file', 'hls']),
        segments: z.number().int().nullable(),
        ended: z.string().nullable(),
      }),
      idempotent: true,
      timeoutMs: 2 * 60 * 60_000,
    },
    /** Stored parts merged in order into one source at `outKey` (stream copy when they match). */
    merge: {
      input: z.object({
        tenantId: z.string().min(1).max(64),
        recordingId: z.string().min(1).max(64),
        keys: z.array(z.string().min(1).max(300)).min(1).max(1000),
        outKey: z.string().min(1).max(300),
      }),
      output: z.object({
        mode: z.enum(['copy', 'reencode']),
        size: z.number(),
        durationSec: z.number(),
        videoFrames: z.number().nullable(),
        ms: z.number(),
      }),
      idempotent: true,
      timeoutMs: 2 * 60 * 60_000,
    },
  },
});

/** Provided by the `monitor` role: receives every node's call statistics. */
export const monitorService = defineService({
  name: 'monitor',
  strategy: 'round_robin',
  methods: {
    // Adds to totals: not idempotent, so never failed over (an undelivered report is kept and resent).
    report: {
      input: StatsReport,
      output: z.object({ entries: z.number() }),
      idempotent: false,
      timeoutMs: 10_000,
    },
  },
});
