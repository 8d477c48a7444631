// A separate process that uploads one file with the SDK and reports on stdout, one JSON object a line.
// Used by test/e2e/upload-sdk.test.ts to kill an upload midway and resume it from another process.
// Env: FILE, API, KEY, STORE, CHUNK (bytes).
import { createUpload } from '@vodcloud/upload';

const env = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

const upload = createUpload(env('FILE'), {
  apiBase: env('API'),
  apiKey: env('KEY'),
  storePath: env('STORE'),
  chunkSize: Number(env('CHUNK')),
  retryDelays: [100, 500, 1000],
});
upload.on('resumed', (r) => say({ type: 'resumed', ...r }));
upload.on('progress', (p) =>
  say({
    type: 'progress',
    bytes: p.bytesUploaded,
    total: p.bytesTotal,
    rate: p.rate,
    eta: p.eta,
    url: upload.url,
  }),
);
upload.on('retry', (r) => say({ type: 'retry', message: r.error.message }));
try {
  const result = await upload.done();
  say({ type: 'success', ...result });
} catch (err) {
  say({ type: 'error', message: (err as Error).message });
  process.exitCode = 1;
}
