// Examples of the main resources in /openapi.json, by component name (the linters check each against its
// schema: Spectral's oas3-valid-schema-example). Ids are real ULIDs in shape; secrets are shortened.
const T = '2026-01-05T10:12:31.000Z';
const BASE = 'https://vod.example.com';
const VIDEO = '01JGZ6Q2T3V4W5X6Y7Z8A9B0C1';
const TENANT = '01JGZ6M5N6P7Q8R9S0T1V2W3X4';
const PLAYBACK = 'pb_5cG8sQe1Lw3ZnY0aK7dR2u';
const GEN = '01JGZ6R0A1B2C3D4E5F6G7H8J9';

const video = {
  id: VIDEO,
  title: 'Keynote 2026',
  description: 'The opening talk',
  categoryId: null,
  tags: ['conference'],
  status: 'ready',
  playable: true,
  progress: 1,
  duration: 61.5,
  width: 1920,
  height: 1080,
  sizeBytes: 48213344,
  source: {
    container: 'mov,mp4,m4a,3gp,3g2,mj2',
    videoCodec: 'h264',
    audioCodec: 'aac',
    width: 1920,
    height: 1080,
    fps: 30,
    bitrate: 6270000,
    rotation: 0,
  },
  renditions: [
    { name: '1080p', width: 1920, height: 1080, videoBitrate: 5000000, status: 'ready' },
    { name: '720p', width: 1280, height: 720, videoBitrate: 3000000, status: 'ready' },
  ],
  playback: {
    id: PLAYBACK,
    policy: 'public',
    hlsUrl: `${BASE}/hls/${PLAYBACK}/master.m3u8`,
    mp4Urls: { '720p': `${BASE}/mp4/${PLAYBACK}/${GEN}/720p.mp4` },
    thumbnailUrl: `${BASE}/thumb/${PLAYBACK}.jpg`,
    storyboardUrl: `${BASE}/storyboard/${PLAYBACK}.vtt`,
    embedUrl: `${BASE}/embed/${PLAYBACK}`,
  },
  templateId: '01JGZ6K0A1B2C3D4E5F6G7H8J9',
  detection: null,
  error: null,
  meta: { customer: 'c-42' },
  passthrough: null,
  createdAt: '2026-01-05T10:10:02.000Z',
  updatedAt: T,
  readyAt: T,
  timings: {
    uploadCompletedAt: '2026-01-05T10:11:40.000Z',
    playableAt: '2026-01-05T10:11:40.900Z',
    toPlayableSec: 0.9,
    toReadySec: 51,
  },
};

const apiKey = {
  id: '01JGZ6N1P2Q3R4S5T6V7W8X9Y0',
  name: 'backend',
  scopes: ['read', 'write'],
  createdAt: T,
  revokedAt: null,
  lastUsedAt: null,
};

const webhook = {
  id: '01JGZ6P3Q4R5S6T7V8W9X0Y1Z2',
  url: 'https://hooks.example.com/vodcloud',
  events: ['video.ready', 'video.errored'],
  description: 'our backend',
  createdAt: T,
};

const signingKey = { id: '01JGZ6S1T2V3W4X5Y6Z7A8B9C0', managed: true, createdAt: T, revokedAt: null };
const PUBLIC_KEY =
  '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA…\n-----END PUBLIC KEY-----\n';

export const componentExamples: Record<string, unknown> = {
  Video: video,
  Tenant: { id: TENANT, name: 'acme', storageQuotaBytes: null, createdAt: T },
  ApiKey: apiKey,
  CreatedApiKey: { ...apiKey, key: 'vod_sk_3q2Yv8XwzQ1mK5pL7nR9tB4cD6fH0jS2' },
  CreatedUpload: {
    id: '01JGZ6T4V5W6X7Y8Z9A0B1C2D3',
    status: 'waiting',
    videoId: VIDEO,
    url: `${BASE}/tus`,
    headers: { Authorization: 'Bearer vod_ut_9fKx2mQ7…' },
    maxSizeBytes: 53687091200,
    expiresAt: '2026-01-06T10:10:02.000Z',
  },
  Upload: {
    id: '01JGZ6T4V5W6X7Y8Z9A0B1C2D3',
    status: 'uploading',
    offset: 16777216,
    size: 48213344,
    videoId: VIDEO,
    expiresAt: '2026-01-06T10:10:02.000Z',
    createdAt: '2026-01-05T10:10:02.000Z',
    completedAt: null,
  },
  Webhook: webhook,
  CreatedWebhook: { ...webhook, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
  SigningKey: signingKey,
  CreatedSigningKey: {
    ...signingKey,
    privateKey: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC…\n-----END PRIVATE KEY-----\n',
    publicKey: PUBLIC_KEY,
  },
};
