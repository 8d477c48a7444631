/**
 * Import rules of the repository (`npm run deps`, part of `npm run lint`). Every rule is an error: the
 * layers only point down, nothing is circular, and a feature reaches another only through its public
 * module.
 *
 * Layers of apps/server/src, lowest first:
 *   packages/*            shared libraries: never import apps
 *   lib/, db/, ports/, config.ts, config-env.ts, logger.ts, ports.ts
 *                         foundations: never import modules/, http/, commands/ or the entry points
 *   modules/<feature>/    features: another feature only through its public module
 *   http/, commands/, server.ts, context.ts, cli.ts, doctor.ts
 *                         wiring and entry points
 */
const SRC = '^apps/server/src/';
const FEATURE = `${SRC}modules/`;

/**
 * A feature's public module: `index.ts` (what it offers other features) or `service.ts` (its service
 * object), plus the files that only hold types and schemas shared with callers: `contracts.ts` and
 * `types.ts`.
 */
const PUBLIC_MODULE = `${FEATURE}[^/]+/(index|service|contracts|types)\\.ts$`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'packages-not-apps',
      severity: 'error',
      comment: 'A package is shared by the apps; it never imports one.',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'server-not-console',
      severity: 'error',
      comment:
        'The server serves the console as built files (apps/console/dist); it never imports its source, nor the ' +
        'console the server (the console reaches the API through @vodcloud/sdk only).',
      from: { path: '^apps/server/' },
      to: { path: '^apps/console/' },
    },
    {
      name: 'console-through-sdk',
      severity: 'error',
      comment: 'The console talks to the API through @vodcloud/sdk; it imports nothing of the server.',
      from: { path: '^apps/console/' },
      to: { path: '^apps/server/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'layers-point-down',
      severity: 'error',
      comment:
        'lib/, db/, ports/, config.ts, logger.ts, ports.ts and the packages are below every feature and ' +
        'the wiring: they never import modules/, http/, commands/, server.ts, context.ts, cli.ts or doctor.ts.',
      from: { path: [`${SRC}(lib|db|ports)/`, `${SRC}(config|config-env|logger|ports)\\.ts$`, '^packages/'] },
      to: {
        path: [`${SRC}(modules|http|commands)/`, `${SRC}(server|context|cli|doctor)\\.ts$`],
      },
    },
    {
      name: 'features-through-public-module',
      severity: 'error',
      comment:
        'A feature imports another feature only through its public module (index.ts or service.ts, or ' +
        'the type files contracts.ts / types.ts), never its repository or other internals.',
      from: { path: `${FEATURE}([^/]+)/`, pathNot: '\\.test\\.ts$' },
      to: {
        path: `${FEATURE}[^/]+/`,
        pathNot: [`${FEATURE}$1/`, PUBLIC_MODULE],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '(^|/)dist/', '(^|/)data/', '^bench/out/'] },
    includeOnly: '^(apps|packages|test|bench|scripts)/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    moduleSystems: ['es6', 'cjs'],
    cache: false,
  },
};
