/**
 * @vodcloud/sdk: a typed client for the vodcloud API, for Node ≥ 20 and browsers.
 *
 *   const vc = new VodCloud({ baseUrl, apiKey });
 *   const video = await vc.videos.upload('talk.mp4', { title: 'Talk' });
 *   await vc.videos.waitFor(video.id, 'ready');
 *
 * `vc.api` reaches every endpoint with types generated from the server's /openapi.json.
 */
export type { UploadFile, UploadProgress } from '@vodcloud/upload';
export {
  type BreakdownQuery,
  type CreatedSigningKey,
  type Detection,
  DetectionApi,
  type DetectionPolicy,
  type DetectionPolicyUpdate,
  type ModerationQueueItem,
  type Page,
  type SigningKey,
  SigningKeys,
  Stats,
  type StatsQuery,
  type TopVideosQuery,
  type UploadVideoOptions,
  type UsageStats,
  unwrap,
  type Video,
  type VideoFields,
  type VideoListQuery,
  type VideoStats,
  type VideoStatus,
  Videos,
  type VideoUpdate,
  VodCloud,
  type VodCloudOptions,
  type WaitForOptions,
} from './client.js';
export { type FieldError, type LocalErrorCode, VodCloudError, type VodCloudErrorInit } from './errors.js';
export type { components, operations, paths } from './generated/openapi.js';
export type { RetryOptions } from './http.js';
export { type PlaybackAudience, type SignPlaybackTokenOptions, signPlaybackToken } from './playback.js';
export {
  type CreatedRecordingHook,
  type Recording,
  type RecordingCreate,
  type RecordingHook,
  type RecordingHookCreate,
  type RecordingListQuery,
  Recordings,
} from './recordings.js';
export {
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookHeaders,
} from './webhooks.js';
