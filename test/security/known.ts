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
  /** Seen by the fuzzer only (the matrix has no case for it): no `it.fails` in the matrix. */
  fuzzOnly?: boolean;
  /** A fuzz response this finding explains (the fuzzer then counts it instead of failing). */
  fuzz?(r: FuzzResponse): boolean;
}

// Fixed by issue 13's first part and un-marked: lower-case `bearer`, long path parameters (now 404
// problem+json), nosniff everywhere, 405 + Allow, GET /v1/videos/{id}/source, tus metadata validated like
// POST /v1/uploads (templateId 400, titles), and malformed percent-escapes (400 bad_request problem+json).
// Fixed by issue 15: /openapi.json documents the file responses of GET /v1/videos/{id}/source.
export const KNOWN: Known[] = [];

/** The entry explaining a violation, if any. */
export const knownFor = (v: Violation) => KNOWN.find((k) => k.matches(v));
