// Running the engines' own tools (mariadb-dump, pg_dump, the mariadb client, pg_restore) for backups: output
// streamed to a file while it is hashed, input streamed from a file, a bound on the time, passwords only in
// the environment, and a fallback to the tool's other name when the first is not installed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface ToolRun {
  /** The program that ran (the first of the names given that is installed). */
  tool: string;
  stderr: string;
  /** With `stdoutTo`: what was written there. */
  bytes: number;
  sha256: string;
}

export interface ToolOptions {
  /** Added to this process's environment (e.g. MYSQL_PWD, PGPASSWORD): never on the command line. */
  env?: Record<string, string>;
  stdoutTo?: string;
  stdinFrom?: string;
  timeoutMs: number;
}

export class ToolError extends Error {
  override readonly name = 'ToolError';
  constructor(
    message: string,
    readonly stderr = '',
    readonly code: number | null = null,
  ) {
    super(message);
  }
}

const STDERR_KEPT = 64 * 1024;

function runOnce(cmd: string, args: string[], o: ToolOptions): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...o.env },
      stdio: [o.stdinFrom ? 'pipe' : 'ignore', o.stdoutTo ? 'pipe' : 'ignore', 'pipe'],
    });
    let stderr = '';
    let timedOut = false;
    let bytes = 0;
    const hash = createHash('sha256');
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < STDERR_KEPT) stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, o.timeoutMs);
    const io: Array<Promise<void>> = [];
    if (o.stdoutTo) {
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      io.push(pipeline(child.stdout!, counter, createWriteStream(o.stdoutTo)));
    }
    if (o.stdinFrom) {
      // The tool may exit early on an error (EPIPE): its exit code and stderr tell why.
      io.push(pipeline(createReadStream(o.stdinFrom), child.stdin!).catch(() => undefined));
    }
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    child.on('close', async (code) => {
      clearTimeout(timer);
      const ioError = await Promise.all(io).then(
        () => undefined,
        (err: Error) => err,
      );
      if (spawnError) return reject(spawnError);
      if (timedOut)
        return reject(new ToolError(`${cmd} did not finish within ${o.timeoutMs} ms`, stderr, code));
      if (code !== 0)
        return reject(new ToolError(`${cmd} exited with ${code}: ${stderr.trim()}`, stderr, code));
      if (ioError) return reject(ioError);
      resolve({ tool: cmd, stderr, bytes, sha256: hash.digest('hex') });
    });
  });
}

/** Runs the first installed of `names` (e.g. mariadb-dump, then mysqldump) with `args`. */
export async function runTool(names: string[], args: string[], o: ToolOptions): Promise<ToolRun> {
  const missing: string[] = [];
  for (const name of names) {
    try {
      return await runOnce(name, args, o);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(name);
    }
  }
  throw new ToolError(`none of ${missing.join(', ')} is installed (on PATH)`);
}

/** sha256 and size of a file, read as a stream. */
export async function fileSha256(file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    bytes += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { bytes, sha256: hash.digest('hex') };
}
