// `vodcloud upload FILE…`: resumable uploads with @vodcloud/upload, from a terminal or a script.
import path from 'node:path';
import type { UploadProgress, VodUpload } from '@vodcloud/upload';
import { type Command, InvalidArgumentError } from 'commander';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${UNITS[i]}`;
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "50MiB", "5M", "1048576", "512k": binary multiples. */
export function parseBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(v.trim());
  const n = m ? Math.round(Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase())) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a byte count, e.g. 52428800 or 50MiB');
  return n;
}

const seconds = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds');
  return n;
};

export function progressLine(name: string, p: UploadProgress): string {
  return (
    `${name}  ${formatBytes(p.bytesUploaded)} / ${formatBytes(p.bytesTotal)}  ${p.percent.toFixed(1)}%  ` +
    `${p.rate > 0 ? `${formatBytes(p.rate)}/s` : '--/s'}  ETA ${formatEta(p.eta)}`
  );
}

interface UploadCliOptions {
  api?: string;
  key?: string;
  title?: string;
  chunkSize?: number;
  store?: string;
  progressInterval: number;
}

export function registerUploadCommand(program: Command): void {
  program
    .command('upload')
    .description(
      'upload video files to a vodcloud API (tus, resumable: run the same command again to continue an ' +
        'interrupted upload); prints "<file>\\t<videoId>" per uploaded file',
    )
    .argument('<files...>', 'the files to upload')
    .option('--api <url>', 'the API base URL (default: $VODCLOUD_API)')
    .option('--key <key>', 'an API key with write scope (default: $VODCLOUD_API_KEY)')
    .option('--title <title>', 'the video title (default: the file name)')
    .option('--chunk-size <bytes>', 'bytes per request, e.g. 52428800 or 50MiB (default 50MiB)', parseBytes)
    .option(
      '--store <file>',
      'where unfinished uploads are remembered for resuming (default: $VODCLOUD_UPLOAD_STORE or ~/.vodcloud/uploads.json)',
    )
    .option(
      '--progress-interval <seconds>',
      'seconds between progress lines when not on a terminal',
      seconds,
      5,
    )
    .action(async (files: string[], opts: UploadCliOptions, cmd: Command) => {
      const api = opts.api ?? process.env.VODCLOUD_API;
      const key = opts.key ?? process.env.VODCLOUD_API_KEY;
      if (!api) cmd.error('error: give the API base URL with --api URL or VODCLOUD_API', { exitCode: 2 });
      if (!key) cmd.error('error: give an API key with --key KEY or VODCLOUD_API_KEY', { exitCode: 2 });
      process.exitCode = await uploadFiles(files, { ...opts, api: api!, key: key! });
    });
}

async function uploadFiles(files: string[], opts: UploadCliOptions & { api: string; key: string }) {
  const tty = Boolean(process.stderr.isTTY);
  const err = (s: string) => process.stderr.write(`${s}\n`);
  const results: Array<[string, string]> = [];
  let failed = 0;
  let current: VodUpload | undefined;
  // Loaded here, not with the program: `serve` never needs the upload client (memory per role).
  const { createUpload } = await import('@vodcloud/upload');

  const onSignal = () => {
    // Pausing keeps the upload on the server and in the store: the next run continues it.
    current?.pause();
    if (tty) process.stderr.write('\n');
    err('interrupted: run the same command again to resume');
    for (const [f, id] of results) process.stdout.write(`${f}\t${id}\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  for (const file of files) {
    const name = path.basename(file);
    const upload = createUpload(file, {
      apiBase: opts.api,
      apiKey: opts.key,
      ...(opts.title ? { title: opts.title } : {}),
      ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
      ...(opts.store ? { storePath: opts.store } : {}),
    });
    current = upload;
    let lastLine = 0;
    let drawn = false;
    upload.on('resumed', () => {
      if (tty && drawn) process.stderr.write('\n');
      err(`${name}: resuming an interrupted upload`);
    });
    upload.on('retry', (r) => {
      if (tty && drawn) process.stderr.write('\n');
      drawn = false;
      err(
        `${name}: ${r.error.message}; retrying in ${(r.delayMs / 1000).toFixed(0)}s (attempt ${r.attempt})`,
      );
    });
    upload.on('progress', (p) => {
      const now = Date.now();
      const last = p.bytesUploaded >= p.bytesTotal;
      if (tty) {
        if (now - lastLine < 100 && !last) return;
        process.stderr.write(`\r\x1b[K${progressLine(name, p)}`);
        drawn = true;
      } else {
        if (now - lastLine < opts.progressInterval * 1000 && !last) return;
        err(progressLine(name, p));
      }
      lastLine = now;
    });
    try {
      if (!tty) err(`${name}: uploading`);
      const result = await upload.done();
      if (tty && drawn) process.stderr.write('\n');
      results.push([file, result.videoId]);
    } catch (e) {
      if (tty && drawn) process.stderr.write('\n');
      failed++;
      const code = (e as NodeJS.ErrnoException).code;
      const message = code === 'ENOENT' ? 'no such file' : (e as Error).message;
      err(`error: ${file}: ${message}`);
    }
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  for (const [f, id] of results) process.stdout.write(`${f}\t${id}\n`);
  if (failed) err(`${failed} of ${files.length} upload(s) failed`);
  return failed ? 1 : 0;
}
