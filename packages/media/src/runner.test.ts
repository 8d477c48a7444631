import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MediaError } from './errors';
import { type FfmpegProgress, runFfmpeg, runFfprobe } from './runner';

/** Is a process with this pid alive (zombies, waiting for a reaper, count as dead)? */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('runFfmpeg', () => {
  it('reports progress from -progress and resolves with stderr', async () => {
    const seen: FfmpegProgress[] = [];
    const res = await runFfmpeg(
      ['-f', 'lavfi', '-i', 'testsrc2=s=160x90:r=25:d=2', '-c:v', 'rawvideo', '-f', 'null', '-'],
      { timeoutMs: 20_000, onProgress: (p) => seen.push(p) },
    );
    expect(res.durationMs).toBeGreaterThan(0);
    expect(typeof res.stderr).toBe('string');
    const last = seen.at(-1)!;
    expect(last.done).toBe(true);
    expect(last.frame).toBe(50);
    expect(last.outTimeSec).toBeCloseTo(2, 1);
    expect(last.speed).toBeGreaterThan(0);
  });

  it('captures stdout when asked, and runs under nice', async () => {
    const res = await runFfmpeg(
      [
        '-f',
        'lavfi',
        '-i',
        'color=c=red:s=4x4:d=0.04:r=25',
        '-frames:v',
        '1',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        'pipe:1',
      ],
      { timeoutMs: 10_000, captureStdout: true, nice: 5 },
    );
    expect(res.stdout?.length).toBe(4 * 4 * 3);
  });

  it('streams stdout to onStdout, pausing while its promise is pending, and stderr by line', async () => {
    let bytes = 0;
    const lines: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const res = await runFfmpeg(
      ['-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=25:d=2', '-vf', 'showinfo=checksum=0'].concat([
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        'pipe:1',
      ]),
      {
        timeoutMs: 20_000,
        onStderrLine: (l) => lines.push(l),
        onStdout: async (b) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await sleep(1);
          bytes += b.length;
          inFlight--;
        },
      },
    );
    expect(res.stdout).toBeUndefined();
    // Backpressure: without the pause every chunk would be in flight at once. A chunk already read when stdout
    // was paused can still arrive (seen once in CI), so at most 2; callers needing strict order chain their
    // calls, as analyzeMedia does.
    expect(maxInFlight).toBeLessThanOrEqual(2);
    expect(bytes).toBe(50 * 64 * 64 * 3);
    expect(lines.filter((l) => /pts_time:/.test(l))).toHaveLength(50);
  });

  it('stops ffmpeg and rejects with the error of a failing onStdout', async () => {
    const t0 = Date.now();
    const err = await runFfmpeg(
      ['-re', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=10', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
      {
        timeoutMs: 30_000,
        onStdout: () => Promise.reject(new Error('consumer failed')),
      },
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe('consumer failed');
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('aborts while stdout is held by a pending onStdout', async () => {
    const ac = new AbortController();
    const p = runFfmpeg(
      ['-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=10', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
      { timeoutMs: 30_000, signal: ac.signal, onStdout: () => new Promise<void>(() => {}) },
    ).catch((e: unknown) => e);
    setTimeout(() => ac.abort(), 300);
    expect(((await p) as MediaError).code).toBe('aborted');
  });

  it('rejects with ffmpeg_failed, exit code and stderr', async () => {
    const err = await runFfmpeg(['-i', '/nonexistent/file.mp4', '-f', 'null', '-'], {
      timeoutMs: 10_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaError);
    const m = err as MediaError;
    expect(m.code).toBe('ffmpeg_failed');
    expect(m.exitCode).not.toBe(0);
    expect(m.message).toMatch(/No such file or directory/);
    expect(m.stderrTail).toMatch(/nonexistent/);
  });

  it('kills the process on timeout', async () => {
    const t0 = Date.now();
    const err = await runFfmpeg(['-re', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=10', '-f', 'null', '-'], {
      timeoutMs: 500,
    }).catch((e: unknown) => e);
    expect((err as MediaError).code).toBe('timeout');
    expect((err as MediaError).message).toMatch(/timed out after 500 ms/);
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('aborts a running ffmpeg under nice', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = runFfmpeg(['-re', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=10', '-f', 'null', '-'], {
      timeoutMs: 30_000,
      signal: ac.signal,
      nice: 10,
    }).catch((e: unknown) => e);
    setTimeout(() => ac.abort(), 300);
    const err = await p;
    expect((err as MediaError).code).toBe('aborted');
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('aborts an ffmpeg whose group was stopped (SIGSTOP) at once, not after the SIGKILL grace', async () => {
    const ac = new AbortController();
    let pid = 0;
    const p = runFfmpeg(['-re', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=10', '-f', 'null', '-'], {
      timeoutMs: 30_000,
      signal: ac.signal,
      killGraceMs: 20_000,
      onSpawn: (child) => {
        pid = child;
      },
    }).catch((e: unknown) => e);
    await sleep(300);
    process.kill(-pid, 'SIGSTOP'); // as lib/foreground.ts in the server stops background work
    await sleep(100);
    const t0 = Date.now();
    ac.abort();
    const err = await p;
    expect((err as MediaError).code).toBe('aborted');
    expect(Date.now() - t0, 'ended by SIGTERM, not by the SIGKILL 20 s later').toBeLessThan(3000);
  });

  it('SIGKILLs the whole process tree when SIGTERM is ignored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vod-runner-'));
    try {
      // Stands in for a wedged ffmpeg that ignores SIGTERM and has a child of its own.
      const script = join(dir, 'wedged.sh');
      const pids = join(dir, 'pids');
      await writeFile(script, `#!/bin/sh\ntrap '' TERM\nsleep 60 &\necho "$$ $!" > ${pids}\nwait\nwait\n`);
      await chmod(script, 0o755);
      const ac = new AbortController();
      const p = runFfmpeg([], {
        timeoutMs: 30_000,
        signal: ac.signal,
        killGraceMs: 300,
        ffmpegPath: script,
      }).catch((e: unknown) => e);
      for (let i = 0; i < 100 && !(await readFile(pids, 'utf8').catch(() => '')); i++) await sleep(20);
      const [shPid, sleepPid] = (await readFile(pids, 'utf8')).trim().split(' ').map(Number);
      expect(alive(shPid!)).toBe(true);
      const t0 = Date.now();
      ac.abort();
      const err = (await p) as MediaError;
      expect(err.code).toBe('aborted');
      expect(err.signal).toBe('SIGKILL');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      await sleep(50);
      expect(alive(shPid!)).toBe(false);
      expect(alive(sleepPid!)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects at once when the signal is already aborted', async () => {
    const err = await runFfmpeg(['-version'], { timeoutMs: 1000, signal: AbortSignal.abort() }).catch(
      (e: unknown) => e,
    );
    expect((err as MediaError).code).toBe('aborted');
  });
});

describe('runFfprobe', () => {
  it('returns JSON text', async () => {
    const res = await runFfprobe(
      ['-f', 'lavfi', '-i', 'testsrc2=s=32x32:d=1', '-show_streams', '-of', 'json'],
      {
        timeoutMs: 10_000,
      },
    );
    const json = JSON.parse(res.stdout) as { streams: { width: number }[] };
    expect(json.streams[0]!.width).toBe(32);
  });
});
