// Every `METHOD /path` of docs/api.md (the public contract), for the tests that hold the server to it. A
// path in the "Planned" part (between `<!-- planned` and `<!-- /planned -->`) is not routed yet and is
// returned apart, so a test can skip it; anything else named there must be served.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface ContractPath {
  method: string;
  /** As written: `/v1/videos/{id}`, `/hls/{playbackId}/{generation}/{rendition}/…`. */
  path: string;
  planned: boolean;
}

const METHODS = 'GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS';
const RE = new RegExp(`\`((?:${METHODS})(?:\\|(?:${METHODS}))*) (\\/[^\`?\\s]*)`, 'g');

export function contractPaths(file = path.resolve(import.meta.dirname, '../../docs/api.md')): ContractPath[] {
  const text = readFileSync(file, 'utf8');
  const out: ContractPath[] = [];
  let planned = false;
  for (const line of text.split('\n')) {
    if (line.includes('<!-- /planned')) planned = false;
    else if (line.includes('<!-- planned')) planned = true;
    for (const m of line.matchAll(RE))
      for (const method of m[1]!.split('|')) out.push({ method, path: m[2]!, planned });
  }
  return out;
}

/** A request path for a contract path: each `{param}` (and a trailing `…`) filled with a sample value. */
export const samplePath = (p: string, value = 'X0X0X0') => p.replace(/\{[^}]+\}/g, value).replace(/…$/, 'x');
