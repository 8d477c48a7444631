// Values from the OpenAPI request schemas: the smallest valid instance of a schema (the matrix sends it, so
// that a request refused for its credentials would otherwise have reached the handler), and fast-check
// arbitraries for the fuzzer (valid values with mutations: wrong types, huge strings, deep nesting,
// unicode, NUL, extreme numbers, extra fields).
import fc from 'fast-check';
import { deref, type JsonSchema, type OpenApiDoc } from '../support/openapi';

type S = JsonSchema & {
  type?: string | string[];
  properties?: Record<string, S>;
  required?: string[];
  items?: S;
  anyOf?: S[];
  oneOf?: S[];
  allOf?: S[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  additionalProperties?: boolean | S;
  default?: unknown;
};

/** An object schema's properties and required names, allOf branches merged. */
function objectParts(doc: OpenApiDoc, s: S): { properties: Record<string, S>; required: string[] } {
  const parts = [s, ...(s.allOf ?? []).map((x) => deref(doc, x) as S)];
  const properties: Record<string, S> = {};
  const required: string[] = [];
  for (const p of parts) {
    Object.assign(properties, p.properties ?? {});
    required.push(...(p.required ?? []));
  }
  return { properties, required };
}

const typesOf = (s: S): string[] => (s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type]);

/** A string matching `pattern`, deterministic. */
function matching(pattern: string, candidates: string[]): string {
  const re = new RegExp(pattern);
  const hit = candidates.find((c) => re.test(c));
  if (hit !== undefined) return hit;
  return fc.sample(fc.stringMatching(re), { seed: 13, numRuns: 1 })[0]!;
}

export interface ValidOptions {
  /** The id to put in a property of this name (categoryId, templateId, ids …), if any. */
  idFor(property: string): string | undefined;
  /** Every id of the caller's world, for patterns that need one. */
  ids: string[];
  /** A URL the server accepts (webhook endpoint, import source). */
  url: string;
}

/**
 * The smallest valid instance of a schema: required properties, plus the optional ones that reference
 * another resource (`…Id`, `ids`) so that cross-tenant references are exercised.
 */
export function minimalValid(doc: OpenApiDoc, schema: JsonSchema, o: ValidOptions, prop = ''): unknown {
  const s = deref(doc, schema) as S;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  const alt = s.anyOf ?? s.oneOf;
  if (alt) {
    const branch = alt.map((x) => deref(doc, x) as S).find((x) => !typesOf(x).includes('null')) ?? alt[0]!;
    return minimalValid(doc, branch, o, prop);
  }
  const types = typesOf(s).filter((t) => t !== 'null');
  const type = types[0] ?? (s.properties || s.allOf ? 'object' : undefined);
  switch (type) {
    case 'object': {
      const { properties, required } = objectParts(doc, s);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(properties))
        if (required.includes(k) || (o.idFor(k) !== undefined && !/^(id|keyId)$/.test(k)))
          out[k] = minimalValid(doc, v, o, k);
      return out;
    }
    case 'array': {
      // `ids: [...]` and the like hold the referenced id; other arrays their smallest valid length.
      const id = o.idFor(prop);
      const n = Math.max(s.minItems ?? 0, id !== undefined ? 1 : 0);
      return Array.from({ length: n }, () =>
        id !== undefined ? id : s.items ? minimalValid(doc, s.items, o, '') : null,
      );
    }
    case 'string': {
      const id = o.idFor(prop);
      if (s.pattern) return matching(s.pattern, [...(id ? [id] : []), ...o.ids, 'x', 'a1', 'matrix']);
      if (s.format === 'uri' || /url$/i.test(prop)) return o.url;
      if (s.format === 'date-time') return new Date().toISOString();
      return 'm'.repeat(Math.max(1, s.minLength ?? 1));
    }
    case 'integer':
    case 'number': {
      if (s.default !== undefined && typeof s.default === 'number') return s.default;
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 0);
      return Math.min(Math.max(min, 0), s.maximum ?? Number.MAX_SAFE_INTEGER);
    }
    case 'boolean':
      return s.default ?? false;
    case 'null':
      return null;
    default:
      return {};
  }
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------------------

/** Deeply nested JSON (arrays and objects, depth chosen by fast-check, recursive through fc.letrec). */
const nested = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(0),
    fc.array(tie('node'), { maxLength: 2 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('node'), { maxKeys: 2 }),
  ),
})).node;

/** A value nested `depth` levels deep, in one chain (what a recursive parser or validator chokes on). */
const chain = (depth: number, leaf: unknown = 1): unknown => {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

const NASTY_STRINGS = [
  '',
  ' ',
  'a\u0000b',
  '\u0000',
  '\u202eevil\u202c',
  '\ud800',
  '😀'.repeat(50),
  '../../etc/passwd',
  '%2e%2e%2f',
  'constructor',
  '__proto__',
  'prototype',
  '<script>alert(1)</script>',
  "' OR '1'='1",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j-style lookup, sent as a literal string
  '${jndi:ldap://x}',
  '\r\nX-Injected: 1',
  'NaN',
  '-1',
  '1e309',
];

const NASTY_NUMBERS = [
  -1,
  0,
  -0,
  0.5,
  -1e308,
  1e308,
  2 ** 31,
  2 ** 53 + 1,
  -(2 ** 63),
  Number.MAX_SAFE_INTEGER,
  Number.MIN_VALUE,
];

/** A hostile value of any type: what a careless or malicious client sends in place of the right one. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, [], {}, ...NASTY_STRINGS, ...NASTY_NUMBERS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
  // Deeper chains go as raw text (deepBody): JSON.stringify itself overflows the stack near 4,000 levels.
  fc.integer({ min: 50, max: 1_500 }).map((n) => chain(n)),
  nested,
  fc.double(),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((b) => Number(b)),
);

export interface ArbOptions {
  /** Ids of real resources, so some generated ids exist and reach deeper code. */
  ids: string[];
  /** Probability (0..1) that a node is replaced by a hostile value. */
  mutate: number;
  url: string;
}

const limited = (n: number | undefined, cap: number) => (n === undefined ? cap : Math.min(n, cap));

function stringArb(s: S, o: ArbOptions): fc.Arbitrary<string> {
  if (s.pattern) {
    const re = new RegExp(s.pattern);
    const ids = o.ids.filter((i) => re.test(i));
    const gen = fc.stringMatching(re);
    return ids.length ? fc.oneof(fc.constantFrom(...ids), gen) : gen;
  }
  if (s.format === 'uri')
    return fc.oneof(
      fc.constant(o.url),
      fc.webUrl(),
      fc.constantFrom(
        'http://127.0.0.1/',
        'http://[::1]:80/',
        'file:///etc/passwd',
        'http://169.254.169.254/',
      ),
    );
  if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  const min = s.minLength ?? 0;
  const max = Math.max(min, limited(s.maxLength, 60));
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ minLength: min, maxLength: max }) },
    { weight: 1, arbitrary: fc.string({ minLength: min, maxLength: max, unit: 'grapheme' }) },
    ...(s.maxLength !== undefined ? [{ weight: 1, arbitrary: fc.constant('y'.repeat(s.maxLength)) }] : []),
  );
}

function numberArb(s: S, integer: boolean): fc.Arbitrary<number> {
  const min =
    s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (integer ? 1 : 1e-9) : undefined);
  const max =
    s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - (integer ? 1 : 1e-9) : undefined);
  if (integer)
    return fc.integer({
      min: Math.max(min ?? -1e9, Number.MIN_SAFE_INTEGER),
      max: Math.min(max ?? 1e9, Number.MAX_SAFE_INTEGER),
    });
  return fc.double({ min: min ?? -1e9, max: max ?? 1e9, noNaN: true, noDefaultInfinity: true });
}

/** A JSON body text nesting arrays `depth` levels deep (up to 200,000) under one of the body's properties. */
export function deepBody(doc: OpenApiDoc, schema: JsonSchema): fc.Arbitrary<string> {
  const names = Object.keys(objectParts(doc, deref(doc, schema) as S).properties);
  return fc
    .tuple(fc.constantFrom(...(names.length ? names : ['x'])), fc.integer({ min: 1_000, max: 200_000 }))
    .map(([k, n]) => `{${JSON.stringify(k)}:${'['.repeat(n)}${']'.repeat(n)}}`);
}

/** An arbitrary for a schema: mostly valid values, some nodes replaced by hostile ones. */
export function arbitraryFor(
  doc: OpenApiDoc,
  schema: JsonSchema,
  o: ArbOptions,
  depth = 0,
): fc.Arbitrary<unknown> {
  const valid = validArb(doc, deref(doc, schema) as S, o, depth);
  if (o.mutate <= 0) return valid;
  const w = Math.max(1, Math.round((1 - o.mutate) / o.mutate));
  return fc.oneof({ weight: w, arbitrary: valid }, { weight: 1, arbitrary: hostile });
}

function validArb(doc: OpenApiDoc, s: S, o: ArbOptions, depth: number): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alt = s.anyOf ?? s.oneOf;
  if (alt) return fc.oneof(...alt.map((x) => arbitraryFor(doc, x, o, depth + 1)));
  const types = typesOf(s);
  if (types.length > 1) return fc.oneof(...types.map((t) => validArb(doc, { ...s, type: t }, o, depth)));
  const type = types[0] ?? (s.properties || s.allOf ? 'object' : undefined);
  switch (type) {
    case 'object': {
      const { properties, required } = objectParts(doc, s);
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(properties)) model[k] = arbitraryFor(doc, v, o, depth + 1);
      const known = fc.record(model, { requiredKeys: required.filter((k) => k in model) });
      const keyMax = (s.propertyNames as S | undefined)?.maxLength ?? 40;
      const extra =
        s.additionalProperties === undefined || s.additionalProperties === false
          ? fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), hostile, { maxKeys: 2 })
          : fc.dictionary(
              // Keys past propertyNames' maxLength are a mutation.
              fc.string({ maxLength: o.mutate > 0 ? keyMax + 6 : keyMax }),
              s.additionalProperties === true
                ? fc.jsonValue({ maxDepth: 2 })
                : arbitraryFor(doc, s.additionalProperties, o, depth + 1),
              { maxKeys: 4 },
            );
      // Extra fields on a closed object are a mutation: mostly none, and none in valid mode.
      const closed = s.additionalProperties === undefined || s.additionalProperties === false;
      if (closed && o.mutate <= 0) return known;
      return fc
        .tuple(known, closed ? fc.option(extra, { freq: 8, nil: undefined }) : extra)
        .map(([k, e]) => ({ ...(e ?? {}), ...(k as object) }));
    }
    case 'array': {
      const items = s.items ? arbitraryFor(doc, s.items, o, depth + 1) : fc.jsonValue({ maxDepth: 2 });
      const minLength = s.minItems ?? 0;
      const maxLength = Math.max(minLength, limited(s.maxItems, 6));
      if (o.mutate <= 0) return fc.array(items, { minLength, maxLength });
      return fc.oneof(
        { weight: 6, arbitrary: fc.array(items, { minLength, maxLength }) },
        // Past maxItems.
        { weight: 1, arbitrary: fc.array(items, { minLength: maxLength, maxLength: maxLength + 3 }) },
      );
    }
    case 'string':
      return stringArb(s, o);
    case 'integer':
      return numberArb(s, true);
    case 'number':
      return numberArb(s, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}
