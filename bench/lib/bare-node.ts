import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { freePort, sleep, stopChild } from './proc';

export interface BareNodeProcess {
  pid: number;
  url: string;
  /** Files PUT to `${url}/NAME` land at `${dir}/NAME`. */
  dir: string;
  stop(): Promise<void>;
}

/**
 * The simplest Node receiver, as a reference for what Node's HTTP server itself costs: a PUT's body piped
 * to a file (`pipeline(req, createWriteStream(file))`), answered 201. No authorisation, no protocol.
 */
const SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { pipeline } = require('node:stream/promises');
const [dir, port] = process.argv.slice(1);
http
  .createServer(async (req, res) => {
    if (req.method !== 'PUT') return res.writeHead(405).end();
    try {
      await pipeline(req, fs.createWriteStream(path.join(dir, path.basename(req.url))));
      res.writeHead(201).end();
    } catch {
      res.writeHead(500).end();
    }
  })
  .listen(Number(port), '127.0.0.1', () => console.log('listening'));
`;

export async function startBareNode(dir: string): Promise<BareNodeProcess> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', SERVER, dir, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let up = false;
  child.stdout!.on('data', (d: Buffer) => {
    if (d.toString().includes('listening')) up = true;
  });
  for (let i = 0; i < 100 && !up; i++) await sleep(50);
  if (!up) {
    child.kill('SIGKILL');
    throw new Error('the bare Node reference server did not start');
  }
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    dir,
    stop: () => stopChild(child),
  };
}
