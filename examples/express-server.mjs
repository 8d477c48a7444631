// A backend for a vodcloud front end, with Express and @vodcloud/sdk:
//   POST /uploads            creates a vodcloud upload for the browser (the API key stays here) → { videoId, url, headers }
//   GET  /videos/:id/play    a signed video's playback id and a 10-minute playback token for it
//   POST /webhooks/vodcloud  receives vodcloud webhooks, verified (Standard Webhooks) before use
//   GET  /                   serves browser/ (the Uppy + <vod-player> page; build it first, see README.md)
//
//   VODCLOUD_URL=http://localhost:8080 VODCLOUD_API_KEY=vk_… VODCLOUD_WEBHOOK_SECRET=whsec_… \
//   VODCLOUD_SIGNING_KEY_ID=… VODCLOUD_SIGNING_KEY="$(cat signing-key.pem)" node express-server.mjs
//
// Without VODCLOUD_SIGNING_KEY_ID/VODCLOUD_SIGNING_KEY it creates a signing key on the first playback request
// (the private key is shown once by the API: keep it in your secret store for real use).
import path from 'node:path';
import { signPlaybackToken, unwrap, VodCloud, VodCloudError, verifyWebhook } from '@vodcloud/sdk';
import express from 'express';

const {
  VODCLOUD_URL: baseUrl = 'http://localhost:8080',
  VODCLOUD_API_KEY: apiKey,
  VODCLOUD_WEBHOOK_SECRET: webhookSecret,
  PORT = '3000',
} = process.env;
if (!apiKey) throw new Error('set VODCLOUD_API_KEY (a tenant key with read and write scopes)');

const vc = new VodCloud({ baseUrl, apiKey });
let signingKey = process.env.VODCLOUD_SIGNING_KEY_ID
  ? { id: process.env.VODCLOUD_SIGNING_KEY_ID, privateKey: process.env.VODCLOUD_SIGNING_KEY ?? '' }
  : null;

const app = express();

// The webhook route takes the raw bytes, whatever the content type: the signature is over the body exactly
// as sent, and it alone decides.
app.post('/webhooks/vodcloud', express.raw({ type: '*/*' }), async (req, res) => {
  if (!webhookSecret) return res.status(500).send('VODCLOUD_WEBHOOK_SECRET is not set');
  try {
    const event = await verifyWebhook(req.body, req.headers, webhookSecret);
    console.log(`webhook ${event.type} ${event.id}`, event.data);
    res.sendStatus(204);
  } catch (err) {
    if (err instanceof VodCloudError && err.code === 'invalid_signature')
      return res.status(400).send(err.detail);
    throw err;
  }
});

app.use(express.json());

// The browser uploads straight to vodcloud (tus) with the per-upload token this returns.
app.post('/uploads', async (req, res, next) => {
  try {
    const created = unwrap(
      await vc.api.POST('/v1/uploads', {
        body: { title: String(req.body?.title ?? 'Untitled'), playbackPolicy: 'signed' },
      }),
    );
    res.status(201).json({ videoId: created.videoId, url: created.url, headers: created.headers });
  } catch (err) {
    next(err);
  }
});

app.get('/videos/:id/play', async (req, res, next) => {
  try {
    signingKey ??= await vc.signingKeys.create();
    const video = await vc.videos.get(req.params.id);
    const token = await signPlaybackToken({
      keyId: signingKey.id,
      privateKey: signingKey.privateKey,
      playbackId: video.playback.id,
      audience: ['v', 't', 's'],
      expiresIn: 600,
    });
    res.json({
      status: video.status,
      playable: video.playable,
      playbackId: video.playback.id,
      token,
      streamBase: baseUrl,
    });
  } catch (err) {
    next(err);
  }
});

app.use(express.static(path.join(import.meta.dirname, 'browser')));

app.use((err, _req, res, _next) => {
  const status = err instanceof VodCloudError && err.status ? err.status : 500;
  res
    .status(status)
    .json({ error: err instanceof VodCloudError ? err.code : 'internal', detail: String(err.message) });
});

app.listen(Number(PORT), () => console.log(`http://localhost:${PORT}`));
