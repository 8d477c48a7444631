#!/usr/bin/env node
// Uploads every video file of a folder to vodcloud with @vodcloud/sdk, a few at a time, and prints one
// line per file: "<file>\t<video id>\t<status>". Resumable: run it again after an interruption and each
// unfinished upload continues where it stopped (the SDK remembers upload URLs in ~/.vodcloud/uploads.json).
//
//   VODCLOUD_URL=http://localhost:8080 VODCLOUD_API_KEY=vk_… node upload-folder.mjs ./videos [--wait]
//
// --wait also waits until each video is ready (every rendition made) before reporting it.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { VodCloud, VodCloudError } from '@vodcloud/sdk';

const VIDEO = /\.(mp4|m4v|mov|mkv|webm|avi|ts|mts|mpg|mpeg|wmv|flv|3gp)$/i;
const CONCURRENCY = Number(process.env.UPLOAD_CONCURRENCY ?? 2);

const [folder, ...flags] = process.argv.slice(2);
const { VODCLOUD_URL: baseUrl, VODCLOUD_API_KEY: apiKey } = process.env;
if (!folder || !baseUrl || !apiKey) {
  console.error('usage: VODCLOUD_URL=… VODCLOUD_API_KEY=… node upload-folder.mjs FOLDER [--wait]');
  process.exit(2);
}
const wait = flags.includes('--wait');
const vc = new VodCloud({ baseUrl, apiKey });

const files = (await readdir(folder, { withFileTypes: true }))
  .filter((e) => e.isFile() && VIDEO.test(e.name))
  .map((e) => path.join(folder, e.name))
  .sort();

let failed = 0;
async function uploadOne(file) {
  try {
    let video = await vc.videos.upload(file, { title: path.parse(file).name });
    if (wait) video = await vc.videos.waitFor(video.id, 'ready', { timeoutMs: 3_600_000 });
    console.log(`${file}\t${video.id}\t${video.status}`);
  } catch (err) {
    failed++;
    const why = err instanceof VodCloudError ? `${err.code}: ${err.detail}` : String(err);
    console.error(`${file}\tfailed\t${why}`);
  }
}

// A small pool: CONCURRENCY uploads at once.
const queue = [...files];
await Promise.all(
  Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
    for (let file = queue.shift(); file; file = queue.shift()) await uploadOne(file);
  }),
);
if (files.length === 0) console.error(`no video files in ${folder}`);
process.exit(failed ? 1 : 0);
