import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '../..');
const QUERY =
  /\b(selectFrom|updateTable|insertInto|deleteFrom|(inner|left|right|full)Join)\(\s*['"]videos(\s+as\s+\w+)?['"]/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('the videos table', () => {
  it('is queried only by the videos module (other features call its repository, service or queries.ts)', () => {
    const outside = sources(SRC)
      .map((f) => path.relative(SRC, f))
      .filter((f) => !f.startsWith(`modules${path.sep}videos${path.sep}`))
      .filter((f) => !f.startsWith(`db${path.sep}migrations${path.sep}`))
      .filter((f) => QUERY.test(readFileSync(path.join(SRC, f), 'utf8')));
    expect(outside).toEqual([]);
  });
});
