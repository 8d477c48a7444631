import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small race until the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resident set size of a process in bytes (VmRSS from /proc/<pid>/status), or undefined once it is gone. */
export function readRss(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux; checked with `getconf CLK_TCK`

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat fields 14 and 15. */
export function readCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) is fields[12].
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Direct children of a process (Linux /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

export interface RssWindow {
  label: string;
  peakBytes: number;
  samples: number;
}

/**
 * Samples the RSS of a process (summed over `pids()`) every `intervalMs`. `begin(label)` opens a window and
 * `end()` closes it and returns the peak seen inside; the overall peak is kept too.
 */
export class RssSampler {
  private timer: NodeJS.Timeout;
  private current: RssWindow | undefined;
  peakBytes = 0;
  lastBytes = 0;

  constructor(
    private readonly pids: () => number[],
    intervalMs = 100,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    this.sample();
  }

  sample(): number {
    let total = 0;
    for (const pid of this.pids()) total += readRss(pid) ?? 0;
    this.lastBytes = total;
    this.peakBytes = Math.max(this.peakBytes, total);
    if (this.current) {
      this.current.peakBytes = Math.max(this.current.peakBytes, total);
      this.current.samples++;
    }
    return total;
  }

  begin(label: string): void {
    this.current = { label, peakBytes: 0, samples: 0 };
    this.sample();
  }

  end(): RssWindow {
    this.sample();
    const w = this.current ?? { label: '', peakBytes: 0, samples: 0 };
    this.current = undefined;
    return w;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Resolves with the first capture of `pattern` in the child's stdout or stderr; rejects if it exits first. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const m = pattern.exec(seen);
      if (m) {
        cleanup();
        resolve(m[1] ?? m[0]);
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`process exited (code ${code}, signal ${signal}) before ready; output:\n${seen}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`not ready after ${timeoutMs} ms; output:\n${seen}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', onExit);
  });
}

/** Sends `signal` and waits for the child to exit; SIGKILLs it after `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Runs a command to completion; resolves with its exit code, stdout and stderr. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; pid: number | undefined }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, pid: child.pid }));
  });
}

/** Busy CPU seconds of the whole machine so far (all CPUs; /proc/stat "cpu" line minus idle and iowait). */
export function readMachineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLK_TCK;
}
