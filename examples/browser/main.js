// The page: Uppy's Dashboard uploads with tus straight to vodcloud, each file with an upload the backend
// (express-server.mjs, POST /uploads) created with its API key; once the video is playable, <vod-player>
// plays it with a playback token from the backend (GET /videos/:id/play). No API key reaches the browser.
import '@vodcloud/player'; // registers <vod-player>
import Uppy from '@uppy/core';
import Dashboard from '@uppy/dashboard';
import Tus from '@uppy/tus';
import '@uppy/core/css/style.min.css';
import '@uppy/dashboard/css/style.min.css';

const status = document.getElementById('status');
const player = document.getElementById('player');

const uppy = new Uppy({ restrictions: { allowedFileTypes: ['video/*'] }, autoProceed: true })
  .use(Dashboard, { inline: true, target: '#uppy', height: 320 })
  // vodcloud's tus endpoint has no concatenation extension: one stream per upload.
  .use(Tus, { endpoint: '/unused', chunkSize: 50 * 1024 * 1024, parallelUploads: 1 });

// Before each upload: ask the backend for a vodcloud upload, and give Uppy its URL and token.
uppy.addPreProcessor(async (fileIDs) => {
  for (const id of fileIDs) {
    const file = uppy.getFile(id);
    const res = await fetch('/uploads', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: file.name }),
    });
    if (!res.ok) throw new Error(`POST /uploads: ${res.status} ${await res.text()}`);
    const created = await res.json();
    uppy.setFileState(id, {
      tus: { endpoint: created.url, headers: created.headers },
      meta: { ...file.meta, videoId: created.videoId },
    });
  }
});

uppy.on('upload-success', async (file) => {
  const videoId = uppy.getFile(file.id).meta.videoId;
  status.textContent = `Uploaded ${file.name}: processing…`;
  for (;;) {
    const play = await (await fetch(`/videos/${videoId}/play`)).json();
    if (play.error) {
      status.textContent = `${play.error}: ${play.detail}`;
      return;
    }
    if (play.status === 'errored') {
      status.textContent = `${file.name} could not be processed`;
      return;
    }
    if (play.playable) {
      player.setAttribute('stream-base', play.streamBase);
      player.setAttribute('api-base', play.streamBase);
      player.setAttribute('token', play.token);
      player.setAttribute('playback-id', play.playbackId);
      player.hidden = false;
      player.addEventListener('ended', () => (status.textContent = `${file.name}: ended`), { once: true });
      status.textContent = `${file.name} (${play.status})`;
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
});
