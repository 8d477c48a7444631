import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createUploadVia, tusUpload, waitFor } from './uploads';

const run = promisify(execFile);

/** Writes an H.264 (+ AAC when `audio`) test clip made by ffmpeg's testsrc2 and sine sources. */
export async function makeClip(
  file: string,
  o: { size?: string; rate?: number; duration: number; audio?: boolean },
): Promise<string> {
  const { size = '320x240', rate = 25, duration, audio = false } = o;
  await run(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${duration}`],
      ...(audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${duration}`] : []),
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      ...(audio ? ['-c:a', 'aac', '-shortest'] : []),
      file,
    ],
    { timeout: 60_000 },
  );
  return file;
}

/** Creates a template and returns its id. */
export async function createTemplate(
  baseUrl: string,
  auth: Record<string, string>,
  body: object,
): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/templates`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`template: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** The fields of a ready video the tests read. */
export interface ReadyVideo {
  id: string;
  status: 'ready';
  duration: number;
  playback: {
    id: string;
    policy: string;
    hlsUrl: string;
    mp4Urls: Record<string, string>;
    thumbnailUrl: string;
    storyboardUrl: string;
  };
}

/** Uploads a file with tus-js-client and waits until its video is ready (fails at once if it errors). */
export async function uploadUntilReady<V = ReadyVideo>(
  baseUrl: string,
  auth: Record<string, string>,
  file: string,
  fields: object,
  timeoutMs = 90_000,
): Promise<V> {
  const created = await createUploadVia(baseUrl, auth, fields);
  await tusUpload(readFileSync(file), { endpoint: created.url, headers: created.headers }).promise;
  const settled = await waitFor(
    async () => {
      const v = (await (
        await fetch(`${baseUrl}/v1/videos/${created.videoId}`, { headers: auth })
      ).json()) as {
        status: string;
      };
      return v.status === 'ready' || v.status === 'errored' ? v : undefined;
    },
    timeoutMs,
    `video ${created.videoId} to be ready`,
  );
  if (settled.status !== 'ready')
    throw new Error(`video ${created.videoId} errored: ${JSON.stringify(settled)}`);
  return settled as V;
}
