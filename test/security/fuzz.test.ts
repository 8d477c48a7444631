// Property-based fuzzing of every operation of /openapi.json (fast-check): requests generated from the
// operation's JSON schemas (path, query and body), mostly valid with mutations (wrong types, huge strings,
// deep nesting, unicode, NUL, extreme numbers, extra fields, broken JSON), sent with tenant F's read+write
// key (the admin key on admin operations) to a real server. Every response must be: no 5xx; a documented
// status (the operation's, or a convention of docs/api.md); an error as application/problem+json with a
// code and the request id; a success with the documented content type and a body that validates (ajv)
// against the documented response schema.
//
// Deterministic: VOD_FUZZ_SEED (default 1313) seeds each operation's run; VOD_FUZZ_RUNS (default 20000)
// is the request budget over all operations; VOD_FUZZ_SECONDS (default 120) bounds the wall time.
// On failure the seed and fast-check's shrunk request are printed.
//
// Bounded on purpose, not excluded: operations that start heavy work per request (RSA key generation,
// retranscode, snapshots, URL imports, webhook test deliveries) get a few runs each (HEAVY below). Not
// fuzzed here: the delivery and tus operations (NOT_FUZZED: the matrix sends hostile path parameters,
// tokens, methods and credentials to each; /thumb would run ffmpeg per new size) and the routes outside
// the document (RPC, presigned storage).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../apps/server/src/lib/errors';
import { startTestServer, type TestServer } from '../support/app';
import {
  fillPattern,
  isProblem,
  type Op,
  type OpenApiDoc,
  operations,
  problemDefects,
  type RawRequest,
  type RawResponse,
  type ResponseValidator,
  responseValidator,
  send,
} from '../support/openapi';
import { api, HOOK_HOST, makeTenant, readyVideo, SERVER_ENV, type TenantWorld } from './fixtures';
import { KNOWN } from './known';
import { arbitraryFor, deepBody, hostile } from './schema-values';

const SEED = Number(process.env.VOD_FUZZ_SEED ?? 1313);
const RUNS = Number(process.env.VOD_FUZZ_RUNS ?? 20000);
const SECONDS = Number(process.env.VOD_FUZZ_SECONDS ?? 120);

/** Operations that start heavy work per request: at most this many runs each. */
const HEAVY: Record<string, number> = {
  'POST /v1/signing-keys': 3, // an RSA-2048 key generation each
  'POST /v1/videos/{id}/retranscode': 3, // a transcode
  'POST /v1/videos/{id}/snapshots': 4, // an ffmpeg run
  'POST /v1/videos': 6, // a URL import job
  'POST /v1/webhooks/{id}/test': 4, // an outbound delivery
};

/** Operations left to the matrix: file delivery (HLS, MP4, images, embed) and the tus protocol. */
const NOT_FUZZED = (op: Op) => /^\/(hls|mp4|thumb|storyboard|embed|tus)(\/|$)/.test(op.path);

/** Statuses docs/api.md promises for any operation (its error-code conventions). */
const CONVENTIONS = [400, 401, 403, 404, 409, 413, 415, 429];

/** Raw path fragments no generator would produce on its own (sent unencoded). */
const HOSTILE_SEGMENTS = [
  '..',
  '../../etc/passwd',
  '%2e%2e%2f',
  '..%2F..%2F',
  '%00',
  'a%00b',
  'a'.repeat(101),
  'a'.repeat(300),
  'constructor',
  '__proto__',
  'prototype',
  '%E2%80%AE',
  '%F0%9F%98%80',
  '%',
  '%zz',
];

const BROKEN_BODIES = [
  '{',
  'null',
  '[]',
  '"x"',
  '{"a":',
  'not json',
  '\u0000',
  '{"__proto__":{"x":1}}',
  '1e999',
];

/** Percent-encodes a value's UTF-8 bytes (a lone surrogate becomes U+FFFD, where encodeURIComponent throws). */
const enc = (v: unknown) =>
  [...Buffer.from(typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'), 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

/**
 * Arbitrary requests of one operation: half of them valid by the schemas (no mutation, no extra field,
 * optional parameters mostly absent), half mutated (hostile values in any node, extra fields and query
 * parameters, hostile path segments, broken or deep JSON, other content types).
 */
function requestArb(doc: OpenApiDoc, op: Op, auth: string, pool: Pool): fc.Arbitrary<RawRequest> {
  return fc.oneof(requestsOf(doc, op, auth, pool, false), requestsOf(doc, op, auth, pool, true));
}

/** Ids of real resources: all of them, and per collection (`videos`, `templates`, …, `api-keys`). */
interface Pool {
  all: string[];
  byCollection: Record<string, string[]>;
}

function requestsOf(
  doc: OpenApiDoc,
  op: Op,
  auth: string,
  pool: Pool,
  mutated: boolean,
): fc.Arbitrary<RawRequest> {
  const o = { ids: pool.all, mutate: mutated ? 0.08 : 0, url: `http://${HOOK_HOST}/hook` };
  const segments = op.path.split('/');
  const pathArb = fc.tuple(
    ...op.pathParams.map((p) => {
      // Mostly an id of the collection the parameter names (`/v1/videos/{id}`), so requests reach the handler.
      const own = pool.byCollection[segments[segments.indexOf(`{${p.name}}`) - 1] ?? ''] ?? [];
      const any = arbitraryFor(doc, p.schema, { ...o, mutate: 0 }).map(enc);
      const valid = own.length
        ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...own) }, { weight: 1, arbitrary: any })
        : any;
      if (!mutated) return valid;
      return fc.oneof(
        { weight: 4, arbitrary: valid },
        { weight: 1, arbitrary: hostile.map(enc) },
        { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
      );
    }),
  );
  const queryArb = fc.tuple(
    fc.tuple(
      ...op.query.map((q) =>
        fc
          .oneof(
            { weight: q.required ? 0 : 2, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: arbitraryFor(doc, q.schema, o) },
          )
          .map((v) => [q.name, v] as const),
      ),
    ),
    mutated
      ? fc.option(
          fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 20 }), {
            maxKeys: 2,
          }),
          { freq: 3, nil: undefined },
        )
      : fc.constant(undefined),
  );
  const json = (v: unknown) => ({ text: JSON.stringify(v), type: 'application/json' });
  const bodyArb: fc.Arbitrary<{ text?: string; type?: string }> = !op.body
    ? fc.constant({})
    : !mutated
      ? arbitraryFor(doc, op.body, o).map(json)
      : fc.oneof(
          { weight: 8, arbitrary: arbitraryFor(doc, op.body, o).map(json) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(...BROKEN_BODIES).map((t) => ({ text: t, type: 'application/json' })),
          },
          {
            weight: 1,
            arbitrary: deepBody(doc, op.body).map((text) => ({ text, type: 'application/json' })),
          },
          { weight: 1, arbitrary: fc.constant({}) },
          {
            weight: 1,
            arbitrary: fc
              .constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml')
              .map((type) => ({ text: 'a=1', type })),
          },
        );
  // URLs stay under 8 KB: past Node's 16 KB header limit the HTTP parser answers a bare 431 before any route.
  return fc
    .tuple(pathArb, queryArb, bodyArb)
    .map(([params, [query, extra], body]) => {
      const values = Object.fromEntries(op.pathParams.map((p, i) => [p.name, params[i]!]));
      const qs = [
        ...query.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${enc(v)}`),
        ...Object.entries(extra ?? {}).map(([k, v]) => `${enc(k)}=${enc(v)}`),
      ].join('&');
      return {
        method: op.method,
        path: `${fillPattern(op.pattern, values)}${qs ? `?${qs}` : ''}`,
        headers: { authorization: auth, ...(body.type ? { 'content-type': body.type } : {}) },
        body: body.text,
      };
    })
    .filter((r) => r.path.length < 8_000);
}

/** What is wrong with a response by the document and the contract (empty: nothing). */
function defects(v: ResponseValidator, op: Op, res: RawResponse): string[] {
  if (res.status >= 500 || res.status === 0) return [`${res.status}: ${res.text.slice(0, 300)}`];
  const out: string[] = [];
  if (!op.statuses.includes(res.status) && !CONVENTIONS.includes(res.status))
    out.push(`undocumented status ${res.status}`);
  if (res.status >= 400) {
    out.push(...problemDefects(res, ERROR_STATUS));
    if (isProblem(res) && !v.problem(res.json))
      out.push(`problem body off its schema: ${JSON.stringify(v.problem.errors)}`);
    return out;
  }
  const doc = v.forResponse(op, res.status);
  if (doc === null) {
    if (res.text !== '') out.push(`a ${res.status} documented without content has a body`);
    return out;
  }
  const type = res.contentType.split(';')[0]!.trim();
  const documented = Object.keys(op.operation.responses[String(res.status)]?.content ?? {});
  if (!documented.some((d) => d === type || (d.endsWith('/*') && type.startsWith(d.slice(0, -1)))))
    out.push(`content-type ${res.contentType}, documented ${documented.join(', ')}`);
  // Bodies are validated where they are JSON; files (the source download, a CSV export) by their media type only.
  if (/json/.test(type) && /json/.test(doc.contentType) && !doc.validate(res.json))
    out.push(`body off the documented schema: ${JSON.stringify(doc.validate.errors?.slice(0, 3))}`);
  return out;
}

describe('fuzzing the OpenAPI operations (fast-check)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vodfuzz-'));
  let s: TestServer;
  let F: TenantWorld;
  let doc: OpenApiDoc;
  let pool: Pool;

  beforeAll(async () => {
    s = await startTestServer(SERVER_ENV);
    F = await makeTenant(s, 'fuzz');
    const ready = await readyVideo(s, F, dir, 'public');
    pool = {
      all: [...F.ids, ready.videoId],
      byCollection: {
        videos: [ready.videoId, F.fresh.videoId, F.started.videoId],
        templates: [F.template],
        categories: [F.category],
        webhooks: [F.webhook],
        'signing-keys': [F.signingKey.id],
        uploads: [F.fresh.id, F.started.id, F.expired.id],
        tenants: [F.id],
        'api-keys': [F.victimKeyId],
      },
    };
    doc = (await api(s, undefined, 'GET', '/openapi.json')).body as OpenApiDoc;
  }, 240_000);

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    `no 5xx, and every response as documented (seed ${SEED}, ${RUNS} requests, ≤ ${SECONDS} s)`,
    async () => {
      const v = responseValidator(doc);
      // Deletes last, so that the other operations meet existing resources.
      const ops = operations(doc)
        .filter((op) => !NOT_FUZZED(op))
        .sort(
          (a, b) =>
            Number(/DELETE|batch-delete/.test(`${a.method} ${a.path}`)) -
            Number(/DELETE|batch-delete/.test(`${b.method} ${b.path}`)),
        );
      const light = ops.filter((op) => !(`${op.method} ${op.path}` in HEAVY)).length;
      const heavyRuns = Object.values(HEAVY).reduce((a, b) => a + b, 0);
      const perOp = Math.max(1, Math.floor((RUNS - heavyRuns) / light));
      const deadline = Date.now() + SECONDS * 1000;
      const failures: string[] = [];
      const tolerated = new Map<string, number>();
      const statuses = new Map<number, number>();
      const lines: string[] = [];
      let total = 0;
      for (const [i, op] of ops.entries()) {
        const name = `${op.method} ${op.path}`;
        const auth = `Bearer ${/^\/v1\/(tenants|admin)\b/.test(op.path) ? s.adminKey : F.rw}`;
        const runs = HEAVY[name] ?? perOp;
        const seed = SEED + i;
        let sent = 0;
        let ok2xx = 0;
        const opStatuses = new Map<number, number>();
        const property = fc.asyncProperty(requestArb(doc, op, auth, pool), async (req) => {
          const res = await send(s.url, req).catch(
            (err: Error): RawResponse => ({ status: 0, headers: {}, contentType: '', text: err.message }),
          );
          sent++;
          opStatuses.set(res.status, (opStatuses.get(res.status) ?? 0) + 1);
          const known = KNOWN.find((k) =>
            k.fuzz?.({
              method: req.method,
              path: req.path,
              status: res.status,
              contentType: res.contentType,
            }),
          );
          if (known) {
            tolerated.set(known.finding, (tolerated.get(known.finding) ?? 0) + 1);
            return;
          }
          const found = defects(v, op, res);
          if (found.length)
            throw new Error(
              `${res.status} ${res.contentType}: ${found.join('; ')}\nbody: ${res.text.slice(0, 400)}`,
            );
          if (res.status < 300) ok2xx++;
        });
        const timeLeft = deadline - Date.now();
        try {
          await fc.assert(property, {
            seed,
            numRuns: runs,
            interruptAfterTimeLimit: Math.max(500, Math.floor(timeLeft / (ops.length - i))),
            markInterruptAsFailure: false,
            includeErrorInReport: true,
          });
        } catch (err) {
          const msg = `${name}: VOD_FUZZ_SEED=${SEED} (this operation's seed ${seed})\n${(err as Error).message.slice(0, 4000)}`;
          console.error(`fuzz failure — ${msg}`);
          failures.push(msg);
        }
        total += sent;
        for (const [st, n] of opStatuses) statuses.set(st, (statuses.get(st) ?? 0) + n);
        lines.push(
          `  ${name.padEnd(48)} ${String(sent).padStart(4)} sent, ${String(ok2xx).padStart(3)} 2xx validated  ${[
            ...opStatuses,
          ]
            .sort((a, b) => a[0] - b[0])
            .map(([st, n]) => `${st}×${n}`)
            .join(' ')}`,
        );
      }
      console.log(
        [
          `fuzz: seed ${SEED}, ${total} requests over ${ops.length} operations, ${failures.length} failing operation(s)`,
          `  statuses: ${[...statuses]
            .sort((a, b) => a[0] - b[0])
            .map(([st, n]) => `${st}×${n}`)
            .join('  ')}`,
          ...[...tolerated].map(([f, n]) => `  tolerated (known finding) ${n}× ${f}`),
          ...lines,
        ].join('\n'),
      );
      expect(failures).toEqual([]);
      expect(total).toBeGreaterThan(Math.min(RUNS, 200) / 2);
    },
    (SECONDS + 120) * 1000,
  );
});
