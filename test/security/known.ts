// Findings the security suites know about and tolerate until they are fixed. Each entry is one finding
// (named as in issue 13's table, or "new:" for what these suites found beyond it) with a predicate over
// the matrix's checked cases. matrix.test.ts asserts that every violation it sees matches an entry here,
// and runs each entry as an `it.fails` "known finding: …" test: when a fix lands, that test starts failing
// ("expected to fail"), which is the signal to delete the entry here. The fuzzer tolerates a response
// only through `fuzz` predicates of these same entries, so deleting an entry un-marks it everywhere.

/** One checked case of the matrix that did not get what the contract promises. */
export interface Violation {
  /** The matrix dimension: credentials, tokens, params, methods, headers, contract, tus-metadata. */
  dim: string;
  method: string;
  /** The Fastify route pattern (or the contract path, for `contract`). */
  route: string;
  /** The variant of the dimension: `no credentials`, `300 characters`, … */
  variant: string;
  /** The request as sent, `GET /v1/videos/…`. */
  request: string;
  status: number;
  contentType: string;
  /** What is wrong. */
  defect: string;
}

export interface FuzzResponse {
  method: string;
  path: string;
  status: number;
  contentType: string;
}

export interface Known {
  finding: string;
  source: 'issue 13' | 'new';
  matches(v: Violation): boolean;
  /** A fuzz response this finding explains (the fuzzer then counts it instead of failing). */
  fuzz?(r: FuzzResponse): boolean;
}

export const KNOWN: Known[] = [
  {
    finding: 'lower-case `bearer` rejected (RFC 7235: the scheme is case-insensitive)',
    source: 'issue 13',
    matches: (v) => v.dim !== 'headers' && v.variant.startsWith('lower-case bearer') && v.status === 401,
  },
  {
    finding:
      "a path parameter over 100 characters → Fastify's own 414 JSON (echoes the URL, no request id), not problem+json",
    source: 'issue 13',
    matches: (v) =>
      v.dim === 'params' &&
      v.variant === '300 characters' &&
      v.status === 414 &&
      !/problem/.test(v.contentType),
    fuzz: (r) => r.status === 414 && !/problem/.test(r.contentType),
  },
  {
    finding: 'no `X-Content-Type-Options: nosniff` on API, HLS, MP4 and thumbnails',
    source: 'issue 13',
    matches: (v) => v.dim === 'headers' && /nosniff/.test(v.defect),
  },
  {
    finding: 'unsupported methods → 404 instead of 405',
    source: 'issue 13',
    matches: (v) => v.dim === 'methods' && v.status === 404,
  },
  {
    finding: '`GET /v1/videos/{id}/source` (in the contract) does not exist',
    source: 'issue 13',
    matches: (v) => v.dim === 'contract' && v.route === 'GET /v1/videos/{id}/source',
  },
  {
    finding: "tus POST with a bad or another tenant's `templateId` in Upload-Metadata → 500",
    source: 'issue 13',
    matches: (v) => v.dim === 'tus-metadata' && v.variant.includes('templateId') && v.status === 500,
  },
  {
    finding:
      "a title given in tus Upload-Metadata skips the REST API's validation (9,000 characters, RLO/NUL stored)",
    source: 'issue 13',
    matches: (v) => v.dim === 'tus-metadata' && v.variant.startsWith('title') && v.status === 201,
  },
  {
    finding:
      "new: a malformed percent-escape in a path parameter (`%zz`) → Fastify's own 400 JSON (echoes the URL, no request id), not problem+json",
    source: 'new',
    matches: (v) =>
      v.dim === 'params' &&
      v.variant.startsWith('malformed escape') &&
      v.status === 400 &&
      !/problem/.test(v.contentType),
    fuzz: (r) => r.status === 400 && !/problem/.test(r.contentType) && /%(?![0-9a-f]{2})/i.test(r.path),
  },
  {
    finding:
      'new: /openapi.json documents every error response as application/json, the server sends application/problem+json',
    source: 'new',
    matches: (v) => v.dim === 'openapi' && v.contentType === 'application/json',
  },
];

/** The entry explaining a violation, if any. */
export const knownFor = (v: Violation) => KNOWN.find((k) => k.matches(v));
