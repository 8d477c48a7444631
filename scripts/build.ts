// `npm run build`: the publishable packages (packages/{upload,player,sdk}/dist: ESM + .d.ts, and the
// self-contained <vod-player> bundle packages/player/dist/vod-player.min.js), then the production build in
// dist/ — the server as one ESM bundle (our code, the workspace packages included from their sources;
// third-party packages stay in node_modules, installed with `npm ci --omit=dev`) and dist/player.js, the
// same <vod-player> bundle, which the server serves prebuilt, and dist/model-worker.mjs, the moderation
// model's worker thread (a file of its own, copied as is). `node dist/vodcloud.js …` then runs without tsx or
// esbuild.
//
// The web console (apps/console, React + Vite) is built by vite into apps/console/dist, and copied into
// dist/console/ by the production build; the api role serves it at `/`. Its initial JavaScript (the entry
// and what index.html preloads, gzipped) must stay within CONSOLE_INITIAL_JS_BUDGET: the build fails past it.
//
// `--packages` builds the packages only (`npm run build:packages`); `--console` the console only
// (`npm run build:console`); `prepare` (after `npm install`) runs `--prepare`: both, each when stale.
// With VOD_BUILD_OUT (the build test) only the production build is made, into that folder: a build
// elsewhere leaves the checkout's packages alone.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Plugin } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
/** The export condition under which the workspace packages name their TypeScript sources. */
export const SOURCE_CONDITION = '@vodcloud/source';
/** The publishable packages, in build order (the sdk's types import the upload package's). */
export const PACKAGES = ['upload', 'player', 'sdk'] as const;
export type PackageName = (typeof PACKAGES)[number];
/** Where the hash of the sources the packages were last built from is kept. */
const STAMP = path.join(ROOT, 'node_modules/.cache/vodcloud/packages-build.json');

const pkgDir = (name: PackageName) => path.join(ROOT, 'packages', name);

/** A minified ESM browser bundle, in memory (the player's, and those `bench -- package-sizes` measures). */
export const BROWSER_BUNDLE: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
};

/** Options of the self-contained <vod-player> browser bundle (hls.js included), served by the server too. */
export const playerBundleOptions = (): BuildOptions => ({
  ...BROWSER_BUNDLE,
  entryPoints: [path.join(pkgDir('player'), 'src/index.ts')],
  conditions: [SOURCE_CONDITION],
});

/* ------------------------------------------------------------------------------------------------ */
/* The packages                                                                                      */

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    if (name === 'dist' || name === 'node_modules') continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* files(full);
    else yield full;
  }
}

/** The hash of everything the packages are built from: their files (dist aside), this script, tsconfig.json. */
export function packagesSourceHash(): string {
  const h = createHash('sha256');
  const inputs = [
    ...PACKAGES.flatMap((p) => [...files(pkgDir(p))]),
    path.join(ROOT, 'scripts/build.ts'),
    path.join(ROOT, 'tsconfig.json'),
  ];
  for (const f of inputs) h.update(path.relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

/** True when a package's dist is missing or was built from other sources than the current ones. */
export function packagesStale(): boolean {
  if (PACKAGES.some((p) => !existsSync(path.join(pkgDir(p), 'dist/index.d.ts')))) return true;
  try {
    return JSON.parse(readFileSync(STAMP, 'utf8')).hash !== packagesSourceHash();
  } catch {
    return true;
  }
}

/** Bare imports stay imports (the package's dependencies); relative ones and `#platform` are bundled. */
const libraryOptions = (name: PackageName): BuildOptions => ({
  bundle: true,
  format: 'esm',
  packages: 'external',
  target: ['es2022'],
  sourcemap: 'linked',
  sourcesContent: true,
  legalComments: 'inline',
  absWorkingDir: pkgDir(name),
  logLevel: 'warning',
});

async function buildPackageJs(name: PackageName) {
  const dir = pkgDir(name);
  const entry = path.join(dir, 'src/index.ts');
  const out = (file: string) => path.join(dir, 'dist', file);
  if (name === 'upload') {
    // Two builds: `#platform` resolves to platform.browser.ts under the "browser" condition.
    await build({
      ...libraryOptions(name),
      entryPoints: [entry],
      platform: 'browser',
      outfile: out('index.browser.js'),
    });
    await build({
      ...libraryOptions(name),
      entryPoints: [entry],
      platform: 'node',
      outfile: out('index.node.js'),
    });
  } else if (name === 'player') {
    await build({
      ...libraryOptions(name),
      entryPoints: [entry],
      platform: 'browser',
      outfile: out('index.js'),
    });
    const bundle = await build(playerBundleOptions());
    await writeFile(out('vod-player.min.js'), bundle.outputFiles![0]!.text);
  } else {
    await build({
      ...libraryOptions(name),
      entryPoints: [entry],
      platform: 'neutral',
      outfile: out('index.js'),
    });
  }
}

/** Relative specifiers of emitted .d.ts files get their `.js` (Node16 resolution needs it). */
async function fixDeclarationSpecifiers(dir: string) {
  for (const file of files(dir)) {
    if (!file.endsWith('.d.ts')) continue;
    const text = await readFile(file, 'utf8');
    const fixed = text.replace(
      /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+?)(['"])/g,
      (m, pre: string, spec: string, post: string) => {
        if (/\.(js|mjs|cjs|json)$/.test(spec)) return m;
        const target = path.resolve(path.dirname(file), spec);
        if (existsSync(`${target}.d.ts`)) return `${pre}${spec}.js${post}`;
        if (existsSync(path.join(target, 'index.d.ts'))) return `${pre}${spec}/index.js${post}`;
        return m;
      },
    );
    if (fixed !== text) await writeFile(file, fixed);
  }
}

/** The .d.ts files with tsc (packages/<name>/tsconfig.build.json); fails on any type error. */
async function buildPackageTypes(name: PackageName) {
  const ts = (await import('typescript')).default;
  const configFile = path.join(pkgDir(name), 'tsconfig.build.json');
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} };
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, host);
  if (!parsed) throw new Error(`cannot read ${configFile}`);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics, ...parsed.errors];
  if (diagnostics.length) {
    const text = ts.formatDiagnostics(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => '\n',
    });
    throw new Error(`@vodcloud/${name} .d.ts:\n${text}`);
  }
  await fixDeclarationSpecifiers(path.join(pkgDir(name), 'dist'));
}

export async function buildPackages(): Promise<string> {
  const t0 = performance.now();
  const hash = packagesSourceHash();
  for (const name of PACKAGES) {
    await rm(path.join(pkgDir(name), 'dist'), { recursive: true, force: true });
    await buildPackageJs(name);
    await buildPackageTypes(name);
  }
  await mkdir(path.dirname(STAMP), { recursive: true });
  await writeFile(STAMP, `${JSON.stringify({ hash })}\n`);
  return `packages ${PACKAGES.map((p) => `@vodcloud/${p}`).join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
}

/* ------------------------------------------------------------------------------------------------ */
/* The web console                                                                                   */

export const CONSOLE_DIR = path.join(ROOT, 'apps/console');
export const CONSOLE_DIST = path.join(CONSOLE_DIR, 'dist');
/** Gzipped bytes of the JavaScript a first visit loads (the shell and the sign-in page): issue 16. */
export const CONSOLE_INITIAL_JS_BUDGET = 250 * 1024;
const CONSOLE_STAMP = path.join(ROOT, 'node_modules/.cache/vodcloud/console-build.json');

/** The hash of what the console is built from: its files (dist aside), the SDK's sources, this script. */
export function consoleSourceHash(): string {
  const h = createHash('sha256');
  const inputs = [
    ...files(CONSOLE_DIR),
    ...files(path.join(pkgDir('sdk'), 'src')),
    ...files(path.join(pkgDir('upload'), 'src')),
    path.join(ROOT, 'scripts/build.ts'),
    path.join(ROOT, 'package-lock.json'),
  ];
  for (const f of inputs) h.update(path.relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

export function consoleStale(): boolean {
  if (!existsSync(path.join(CONSOLE_DIST, 'index.html'))) return true;
  try {
    return JSON.parse(readFileSync(CONSOLE_STAMP, 'utf8')).hash !== consoleSourceHash();
  } catch {
    return true;
  }
}

/**
 * The JavaScript a first visit of a built console loads: index.html's module scripts and modulepreloads,
 * with their gzipped sizes (the lazily loaded pages are not in it).
 */
export function consoleInitialJs(dist = CONSOLE_DIST): {
  files: Array<{ file: string; gzip: number }>;
  gzip: number;
} {
  const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
  const urls = [
    ...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g),
    ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
  ].map((m) => m[1]!);
  const list = [...new Set(urls)].map((u) => ({
    file: u,
    gzip: gzipSync(readFileSync(path.join(dist, u.replace(/^\//, '')))).length,
  }));
  return { files: list, gzip: list.reduce((n, f) => n + f.gzip, 0) };
}

export async function buildConsole(): Promise<string> {
  const t0 = performance.now();
  const hash = consoleSourceHash();
  const vite = await import('vite');
  // React's production build whatever NODE_ENV the caller has (vitest's global setup runs with `test`).
  process.env.NODE_ENV = 'production';
  await vite.build({
    configFile: path.join(CONSOLE_DIR, 'vite.config.ts'),
    mode: 'production',
    logLevel: 'warn',
  });
  const initial = consoleInitialJs();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  if (initial.gzip > CONSOLE_INITIAL_JS_BUDGET)
    throw new Error(
      `the console's initial JavaScript is ${kb(initial.gzip)} gzipped, over the budget of ${kb(CONSOLE_INITIAL_JS_BUDGET)}: ${initial.files.map((f) => `${f.file} ${kb(f.gzip)}`).join(', ')}`,
    );
  await mkdir(path.dirname(CONSOLE_STAMP), { recursive: true });
  await writeFile(CONSOLE_STAMP, `${JSON.stringify({ hash })}\n`);
  return `console apps/console/dist (initial JS ${kb(initial.gzip)} gzipped, budget ${kb(CONSOLE_INITIAL_JS_BUDGET)}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
}

/* ------------------------------------------------------------------------------------------------ */
/* The production build                                                                              */

/** Bare imports stay external, except our workspace packages (`@vodcloud/*`), bundled from their sources. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./#]/ }, (args) => {
      if (args.path.startsWith('@vodcloud/') || args.path.startsWith('node:')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/** The worker thread of the moderation classifier (apps/server/src/modules/detection/model/classifier.ts). */
export const MODEL_WORKER = path.join(ROOT, 'apps/server/src/modules/detection/model/model-worker.mjs');

async function buildServer(dist: string): Promise<string> {
  const t0 = performance.now();
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  const server = await build({
    entryPoints: [path.join(ROOT, 'apps/server/src/cli.ts')],
    outdir: dist,
    entryNames: 'vodcloud',
    // Adapters are imported lazily (only the configured ones load): their code goes to chunks of its own.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ['node20'],
    sourcemap: 'linked',
    conditions: [SOURCE_CONDITION],
    plugins: [externalPackages],
    // Modules written for CommonJS that the bundle may contain still find require().
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __vodRequire } from 'node:module';\nconst require = __vodRequire(import.meta.url);",
    },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const player = await build(playerBundleOptions());
  const code = player.outputFiles![0]!.text;
  await writeFile(path.join(dist, 'player.js'), code);
  await cp(CONSOLE_DIST, path.join(dist, 'console'), { recursive: true });
  // The moderation model's worker thread runs as a file of its own, beside the bundle (classifier.ts finds it
  // there); plain JavaScript importing its libraries by name, from node_modules like the bundle.
  await cp(MODEL_WORKER, path.join(dist, path.basename(MODEL_WORKER)));
  const external = new Set<string>();
  for (const input of Object.values(server.metafile.inputs))
    for (const imp of input.imports)
      if (imp.external && !imp.path.startsWith('node:')) external.add(imp.path);
  for (const m of readFileSync(MODEL_WORKER, 'utf8').matchAll(/(?:\bfrom|\bimport\()\s*'([^'./][^']*)'/g))
    if (!m[1]!.startsWith('node:')) external.add(m[1]!);
  // What the bundle and the model worker need from node_modules: every name must be a production dependency
  // (test/deploy).
  await writeFile(
    path.join(dist, 'build.json'),
    `${JSON.stringify({ external: [...external].sort() }, null, 2)}\n`,
  );
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  const js = Object.entries(server.metafile.outputs).filter(([f]) => f.endsWith('.js'));
  const size = js.reduce((n, [, o]) => n + o.bytes, 0);
  return `${path.relative(ROOT, dist) || '.'}/vodcloud.js + ${js.length - 1} chunks ${kb(size)} (${external.size} external imports), player.js ${kb(code.length)} in ${(
    (performance.now() - t0) / 1000
  ).toFixed(1)} s`;
}

async function main() {
  const out = process.env.VOD_BUILD_OUT;
  if (process.argv.includes('--packages')) {
    console.log(await buildPackages());
    return;
  }
  if (process.argv.includes('--console')) {
    console.log(await buildConsole());
    return;
  }
  if (process.argv.includes('--prepare')) {
    if (packagesStale()) console.log(await buildPackages());
    if (consoleStale()) console.log(await buildConsole());
    return;
  }
  if (!out) console.log(await buildPackages());
  if (!out || consoleStale()) console.log(await buildConsole());
  console.log(await buildServer(path.resolve(out ?? path.join(ROOT, 'dist'))));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();
