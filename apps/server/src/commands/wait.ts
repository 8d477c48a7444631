// `vodcloud videos wait ID --until ready|playable`: polls the video until it gets there, errors, or time
// runs out; a spinner with the status, a progress bar and the renditions done on a terminal.
import type { Video } from '@vodcloud/contracts';
import { type Command, Option } from 'commander';
import {
  ApiError,
  type ApiOptions,
  action,
  CliError,
  clientFrom,
  EXIT,
  emit,
  say,
  withApiOptions,
} from './api';
import { bar, formatElapsed, parseDuration, statusLine } from './format';

type Until = 'ready' | 'playable';

interface WaitOptions extends ApiOptions {
  until: Until;
  timeout: number;
  interval: number;
}

export const reached = (v: Video, until: Until) =>
  v.status === 'ready' || (until === 'playable' && v.playable && v.status !== 'blocked');

/** The progress line; without the elapsed time in a pipe, where a line is printed only on a change. */
function progressText(v: Video, elapsedMs?: number): string {
  const done = v.renditions.filter((r) => r.status === 'ready').length;
  return (
    `${v.id}  ${v.status}${v.playable && v.status !== 'ready' ? ' (playable)' : ''}  ` +
    `${bar(v.progress)} ${Math.round(v.progress * 100)}%  renditions ${done}/${v.renditions.length}` +
    (elapsedMs === undefined ? '' : `  ${formatElapsed(elapsedMs)}`)
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until the video reaches `until`; throws CliError (timeout, video_errored) or ApiError. */
async function waitForVideo(id: string, o: WaitOptions): Promise<Video> {
  const client = clientFrom(o);
  const path = `/v1/videos/${encodeURIComponent(id)}`;
  const started = Date.now();
  const deadline = started + o.timeout;
  const line = process.stderr.isTTY ? statusLine() : undefined;
  const onSignal = () => {
    line?.done();
    say('interrupted');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  let last: Video | undefined;
  let said = '';
  let retrying = false;
  const show = (t: string) => {
    if (line) line.draw(t);
    else if (t !== said) say(t); // in a pipe: one line per change, not one per poll
    said = t;
  };
  try {
    for (;;) {
      try {
        const v = await client.get<Video>(path);
        last = v;
        if (reached(v, o.until)) return v;
        if (v.status === 'errored')
          throw new CliError(
            `video ${id} errored${v.error ? `: ${v.error.code}: ${v.error.message}` : ''}`,
            'video_errored',
            EXIT.videoFailed,
            { video: v },
          );
        if (v.status === 'blocked')
          throw new CliError(`video ${id} is blocked`, 'video_blocked', EXIT.videoFailed, { video: v });
        retrying = false;
        show(progressText(v, line ? Date.now() - started : undefined));
      } catch (err) {
        // 4xx answers are final (no such video, a bad key); 429, 5xx and an unreachable API are retried.
        if (err instanceof ApiError && err.status < 500 && err.status !== 429) throw err;
        if (!(err instanceof ApiError) && !(err instanceof CliError && err.code === 'unreachable')) throw err;
        retrying = true;
        show(`${id}  ${err.message}; retrying`);
      }
      if (Date.now() >= deadline)
        throw new CliError(
          `video ${id} was not ${o.until} within ${formatElapsed(o.timeout)} (last status: ${last?.status ?? 'unknown'})`,
          'timeout',
          EXIT.timeout,
          { video: last ?? null },
        );
      // Redraw the spinner every 100 ms until the next poll.
      const next = Math.min(Date.now() + o.interval, deadline);
      while (Date.now() < next) {
        await sleep(Math.min(100, next - Date.now()));
        if (line && last && !retrying) line.draw(progressText(last, Date.now() - started));
      }
    }
  } finally {
    line?.done();
    process.off('SIGINT', onSignal);
  }
}

export function registerWaitCommand(videos: Command): void {
  withApiOptions(videos.command('wait'))
    .description(
      'wait until a video is ready (every rendition) or playable (its first rendition); exit 0 then, ' +
        `${EXIT.videoFailed} when it errors or is blocked, ${EXIT.timeout} on timeout, ${EXIT.notFound} when there is no such video`,
    )
    .argument('<id>', 'the video id')
    .addOption(
      new Option('--until <state>', 'the state to wait for').choices(['ready', 'playable']).default('ready'),
    )
    .addOption(
      new Option('--timeout <duration>', 'give up after this long, e.g. 90s, 10m, 1h')
        .argParser(parseDuration)
        .default(600_000, '10m'),
    )
    .addOption(
      new Option('--interval <duration>', 'time between polls').argParser(parseDuration).default(2000, '2s'),
    )
    .action(
      action(async (id: string, o: WaitOptions) => {
        const started = Date.now();
        const v = await waitForVideo(id, o);
        const took = formatElapsed(Date.now() - started);
        emit(o.json, v, () => `${v.id} ${o.until === 'ready' ? 'ready' : 'playable'} after ${took}\n`);
        return EXIT.ok;
      }),
    );
}
