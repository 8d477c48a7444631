#!/usr/bin/env node
// The vodcloud program. Runs the TypeScript sources through tsx's loader, so no build step is needed.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

// The workspace packages (@vodcloud/upload, …) export their TypeScript sources under this condition; their
// `dist` is what users who install them get, and this checkout never needs it.
registerHooks(
  `data:text/javascript,${encodeURIComponent(
    "export const resolve = (s, c, next) => next(s, { ...c, conditions: [...c.conditions, '@vodcloud/source'] });",
  )}`,
);
register();
await import('../src/cli.ts');
