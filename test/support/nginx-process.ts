// An nginx of a test's own (the front of deploy/nginx in ./nginx-front.ts, nginx-rtmp in ./rtmp.ts): started
// with a prefix directory and a config file, and waited for until it accepts on a port.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const NGINX = process.env.VOD_NGINX ?? '/usr/sbin/nginx';

/** A port the kernel just handed out, released again for nginx to take. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s.destroy() && true));
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts nginx with prefix `dir` and config `conf` (errors to `dir/logs/error.log`), and resolves once it
 * accepts on `port`; throws with its logs when it exits or has not within 10 s (`what` names it).
 */
export async function startNginxProcess(
  dir: string,
  conf: string,
  port: number,
  what: string,
): Promise<{ child: ChildProcess; logs: () => string }> {
  const errorLog = path.join(dir, 'logs', 'error.log');
  const child = spawn(NGINX, ['-p', `${dir}/`, '-c', conf, '-e', errorLog], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // nginx would outlive a test process that ends without stop() (a throw before it), holding its ports
  const orphan = () => child.kill('SIGTERM');
  process.once('exit', orphan);
  child.once('exit', () => process.off('exit', orphan));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const logs = () => `${existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''}${out}`;
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} did not start on ${port} (exit ${child.exitCode}):\n${logs()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, logs };
}
