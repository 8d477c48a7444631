// `vodcloud videos list|get|wait|delete`: a tenant's videos through the API, with a tenant API key.
import { createInterface } from 'node:readline/promises';
import { VIDEO_STATUSES, type Video } from '@vodcloud/contracts';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type ApiClient,
  type ApiOptions,
  action,
  clientFrom,
  EXIT,
  emit,
  say,
  usage,
  withApiOptions,
} from './api';
import { formatSeconds, shortTime, table } from './format';
import { formatBytes } from './upload';
import { registerWaitCommand } from './wait';

type Page = { data: Video[]; nextCursor: string | null };

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of 1 or more');
  return n;
};

/** Up to `limit` videos (every one with `all`), newest first, following the API's cursors. */
export async function listVideos(
  client: ApiClient,
  o: { status?: string; limit: number; all: boolean },
): Promise<Page> {
  const data: Video[] = [];
  let cursor: string | undefined;
  for (;;) {
    const want = o.all ? 100 : Math.min(100, o.limit - data.length);
    const page = await client.get<Page>('/v1/videos', { status: o.status, limit: want, cursor });
    data.push(...page.data);
    if (!page.nextCursor || (!o.all && data.length >= o.limit))
      return { data, nextCursor: o.all ? null : page.nextCursor };
    cursor = page.nextCursor;
  }
}

/** The lines `videos get` prints for a person. */
export function describeVideo(v: Video): string {
  const ready = v.renditions.filter((r) => r.status === 'ready').length;
  const lines: Array<[string, string | number | null | undefined]> = [
    ['id', v.id],
    ['title', v.title ?? '-'],
    ['status', `${v.status}${v.playable && v.status !== 'ready' ? ' (playable)' : ''}`],
    ['progress', `${Math.round(v.progress * 100)}%`],
    ['duration', formatSeconds(v.duration)],
    ['frame', v.width && v.height ? `${v.width}x${v.height}` : '-'],
    ['size', v.sizeBytes === null ? '-' : formatBytes(v.sizeBytes)],
    ['renditions', `${ready}/${v.renditions.length} ready`],
    ...v.renditions.map(
      (r) =>
        [`  ${r.name}`, `${r.width}x${r.height} ${Math.round(r.videoBitrate / 1000)} kb/s ${r.status}`] as [
          string,
          string,
        ],
    ),
    ['hls', v.playback.hlsUrl],
    ['created', v.createdAt],
    ['ready at', v.readyAt ?? '-'],
    ['to playable', v.timings.toPlayableSec === null ? '-' : `${v.timings.toPlayableSec} s`],
    ['to ready', v.timings.toReadySec === null ? '-' : `${v.timings.toReadySec} s`],
  ];
  if (v.error) lines.push(['error', `${v.error.code}: ${v.error.message}`]);
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, val]) => `${k.padEnd(w)}  ${val ?? '-'}\n`).join('');
}

/** Asks on the terminal; true only for y or yes. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function registerVideosCommand(program: Command): void {
  const videos = program
    .command('videos')
    .description('list, inspect, wait for and delete videos through the API (a tenant key)');

  withApiOptions(videos.command('list'))
    .description(
      'videos newest first: a table on a terminal (id, title, status, duration, created), ' +
        'tab-separated lines in a pipe, or --json ({data, nextCursor} as the API lists them)',
    )
    .addOption(new Option('--status <status>', 'only videos in this status').choices(VIDEO_STATUSES))
    .option('--limit <n>', 'at most this many (more than 100 follows cursors)', positive, 25)
    .option('--all', 'every video, following cursors')
    .action(
      action(async (o: ApiOptions & { status?: string; limit: number; all?: boolean }) => {
        const page = await listVideos(clientFrom(o), { status: o.status, limit: o.limit, all: !!o.all });
        const tty = Boolean(process.stdout.isTTY);
        emit(o.json, page, () =>
          page.data.length === 0 && tty
            ? 'no videos\n'
            : table(
                ['ID', 'TITLE', 'STATUS', 'DURATION', 'CREATED'],
                page.data.map((v) => [
                  v.id,
                  v.title ?? '-',
                  v.status,
                  formatSeconds(v.duration),
                  tty ? shortTime(v.createdAt) : v.createdAt,
                ]),
                tty,
                { 1: 40 },
              ),
        );
        if (!o.json && tty && page.nextCursor) say('more videos: --limit N or --all');
        return EXIT.ok;
      }),
    );

  withApiOptions(videos.command('get'))
    .description('one video: status, renditions, playback URL, timings (exit 3 when there is no such video)')
    .argument('<id>', 'the video id')
    .action(
      action(async (id: string, o: ApiOptions) => {
        const v = await clientFrom(o).get<Video>(`/v1/videos/${encodeURIComponent(id)}`);
        emit(o.json, v, () => describeVideo(v));
        return EXIT.ok;
      }),
    );

  registerWaitCommand(videos);

  withApiOptions(videos.command('delete'))
    .description('delete a video and its objects; asks first on a terminal, and needs --yes when not on one')
    .argument('<id>', 'the video id')
    .option('-y, --yes', 'do not ask')
    .action(
      action(async (id: string, o: ApiOptions & { yes?: boolean }) => {
        const client = clientFrom(o);
        const path = `/v1/videos/${encodeURIComponent(id)}`;
        if (!o.yes) {
          if (!process.stdin.isTTY || !process.stderr.isTTY)
            throw usage(`not on a terminal: give --yes to delete video ${id}`);
          const v = await client.get<Video>(path);
          if (!(await confirm(`Delete video ${v.id} (${v.title ?? 'untitled'}, ${v.status})? [y/N] `))) {
            say('not deleted');
            return EXIT.error;
          }
        }
        await client.request('DELETE', path);
        emit(o.json, { id, deleted: true }, () => `deleted ${id}\n`);
        return EXIT.ok;
      }),
    );
}
