import type { EnvSettings } from './config-env';

/** Statistics (modules/stats): beacon buffer, roll-up interval, view timeout, and retention per level in days. */
export interface StatsConfig {
  beaconFlushMs: number;
  /** Beacon requests per address per minute (0: unlimited); replaces the API's limit on that route. */
  beaconRatePerMinute: number;
  beaconBufferMax: number;
  rollupIntervalMs: number;
  viewTimeoutMs: number;
  retentionDays: { raw: number; minute: number; hour: number; day: number };
}

/** Detection (modules/detection): the automatic run, the background nice level, the model's idle unload, QC thresholds. */
export interface DetectionConfig {
  enabled: boolean;
  nice: number;
  modelIdleMs: number;
  qc: {
    blackMinSec: number;
    blackPixel: number;
    freezeMinSec: number;
    freezeNoiseDb: number;
    silenceMinSec: number;
    silenceNoiseDb: number;
    sceneThreshold: number;
  };
}

/** The detection settings (modules/detection). */
export function detectionConfig(c: EnvSettings): DetectionConfig {
  return {
    enabled: c.VOD_DETECTION === 'on',
    nice: c.VOD_DETECTION_NICE,
    modelIdleMs: c.VOD_DETECTION_MODEL_IDLE_MS,
    qc: {
      blackMinSec: c.VOD_QC_BLACK_MIN_SEC,
      blackPixel: c.VOD_QC_BLACK_PIXEL,
      freezeMinSec: c.VOD_QC_FREEZE_MIN_SEC,
      freezeNoiseDb: c.VOD_QC_FREEZE_NOISE_DB,
      silenceMinSec: c.VOD_QC_SILENCE_MIN_SEC,
      silenceNoiseDb: c.VOD_QC_SILENCE_NOISE_DB,
      sceneThreshold: c.VOD_QC_SCENE_THRESHOLD,
    },
  };
}

/** The statistics settings (modules/stats). */
export function statsConfig(c: EnvSettings): StatsConfig {
  return {
    beaconFlushMs: c.VOD_BEACON_FLUSH_MS,
    beaconRatePerMinute: c.VOD_BEACON_RATE_PER_MINUTE,
    beaconBufferMax: c.VOD_BEACON_BUFFER_MAX,
    rollupIntervalMs: c.VOD_STATS_ROLLUP_INTERVAL_MS,
    viewTimeoutMs: c.VOD_STATS_VIEW_TIMEOUT_SEC * 1000,
    retentionDays: {
      raw: c.VOD_STATS_RAW_RETENTION_DAYS,
      minute: c.VOD_STATS_MINUTE_RETENTION_DAYS,
      hour: c.VOD_STATS_HOUR_RETENTION_DAYS,
      day: c.VOD_STATS_DAY_RETENTION_DAYS,
    },
  };
}

/** Live recordings (modules/recordings): shared directories, size bound, HLS follow bounds. */
export interface RecordingConfig {
  /** Absolute directories a recorder's callback may name (as configured; realpath'd when used). */
  dirs: string[];
  maxBytes: number;
  hlsWaitSec: number;
  hlsIdleSec: number;
}

/** The live-recording settings (modules/recordings). */
export function recordingConfig(c: EnvSettings): RecordingConfig {
  const dirs = c.VOD_RECORDING_DIRS.split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  for (const d of dirs)
    if (!d.startsWith('/')) throw new Error(`VOD_RECORDING_DIRS: ${d} is not an absolute path`);
  return {
    dirs,
    maxBytes: c.VOD_RECORDING_MAX_BYTES,
    hlsWaitSec: c.VOD_RECORDING_HLS_WAIT_SEC,
    hlsIdleSec: c.VOD_RECORDING_HLS_IDLE_SEC,
  };
}
