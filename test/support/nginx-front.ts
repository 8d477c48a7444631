// The nginx front of deploy/nginx/vodcloud.conf, started for real: the shipped file is rendered with its four
// EDIT values replaced (each must be found exactly once, so the file cannot drift from what is tested) and
// included in a throwaway nginx.conf. Used by the front's test and by bench/delivery.ts.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, NGINX, startNginxProcess } from './nginx-process';

export const FRONT_CONF = path.resolve(import.meta.dirname, '../../deploy/nginx/vodcloud.conf');

/** True when nginx is installed; otherwise one SKIP line, or a throw under VOD_TEST_REQUIRE_ENGINES=1. */
export function nginxAvailable(): boolean {
  if (existsSync(NGINX)) return true;
  const why = `${NGINX} missing (apt-get install nginx-light)`;
  if (process.env.VOD_TEST_REQUIRE_ENGINES === '1') throw new Error(`${why} but VOD_TEST_REQUIRE_ENGINES=1`);
  console.log(`SKIP nginx front tests: ${why}`);
  return false;
}

export interface FrontOptions {
  /** Where nginx's files go (config, logs, temp). */
  dir: string;
  /** The vodcloud node: host:port. */
  upstream: string;
  /** The file store's objects directory: <VOD_DATA_DIR>/objects/objects. */
  objectsDir: string;
  /** The delivery log (default <dir>/delivery.log). */
  deliveryLog?: string;
  port?: number;
  workers?: number;
  /** Keep the front's cache of authorisations (default true, as shipped). */
  authCache?: boolean;
}

/** deploy/nginx/vodcloud.conf with its EDIT values replaced. */
export function renderFront(
  o: Required<Omit<FrontOptions, 'dir' | 'workers' | 'authCache'>> & { cacheDir: string; authCache: boolean },
): string {
  let conf = readFileSync(FRONT_CONF, 'utf8');
  const edits: Array<[RegExp, string]> = [
    [/server 127\.0\.0\.1:8080; # EDIT[^\n]*/, `server ${o.upstream};`],
    [/listen 80; # EDIT[^\n]*/, `listen 127.0.0.1:${o.port};`],
    [
      /alias \/var\/lib\/vodcloud\/objects\/objects\/\$vod_object%o; # EDIT[^\n]*/,
      `alias ${o.objectsDir}/$vod_object%o;`,
    ],
    [
      /access_log \/var\/log\/nginx\/vodcloud-delivery\.log vod_delivery (buffer=[^;]*); # EDIT[^\n]*/,
      `access_log ${o.deliveryLog} vod_delivery $1;`,
    ],
    [
      /proxy_cache_path \/var\/cache\/nginx\/vodcloud ([^;]*); # EDIT[^\n]*/,
      `proxy_cache_path ${o.cacheDir} $1;`,
    ],
    // Without the front's cache of authorisations: every request is authorised by vodcloud.
    [/ {4}proxy_cache vod_auth;\n/, o.authCache ? '    proxy_cache vod_auth;\n' : ''],
  ];
  for (const [re, value] of edits) {
    const found = conf.match(new RegExp(re.source, 'g'))?.length ?? 0;
    if (found !== 1) throw new Error(`${FRONT_CONF}: ${re} found ${found} times, expected once`);
    conf = conf.replace(re, value);
  }
  return conf;
}

export interface NginxFront {
  url: string;
  port: number;
  /** The master process (workers are its children). */
  pid: number;
  deliveryLog: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts nginx with the rendered front config. Its workers run as `nobody` when started as root (as nginx
 * does by default): the data folder must be world-readable (0755 directories) for them to send objects.
 */
export async function startNginxFront(o: FrontOptions): Promise<NginxFront> {
  const dir = o.dir;
  for (const sub of ['logs', 'tmp', 'cache'])
    mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o755 });
  for (const sub of ['tmp', 'cache']) chmodSync(path.join(dir, sub), 0o777); // the workers write there
  const port = o.port ?? (await freePort());
  const deliveryLog = o.deliveryLog ?? path.join(dir, 'logs', 'delivery.log');
  writeFileSync(
    path.join(dir, 'vodcloud.conf'),
    renderFront({
      upstream: o.upstream,
      objectsDir: o.objectsDir,
      deliveryLog,
      port,
      cacheDir: path.join(dir, 'cache'),
      authCache: o.authCache ?? true,
    }),
  );
  const t = (n: string) => path.join(dir, 'tmp', n);
  const main = `daemon off;
master_process on;
worker_processes ${o.workers ?? 'auto'};
pid ${dir}/logs/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path ${t('body')}; proxy_temp_path ${t('proxy')}; fastcgi_temp_path ${t('fcgi')};
  uwsgi_temp_path ${t('uwsgi')}; scgi_temp_path ${t('scgi')};
  include ${dir}/vodcloud.conf;
}
`;
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, main);
  const { child, logs } = await startNginxProcess(dir, conf, port, 'nginx front');
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    deliveryLog,
    logs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
