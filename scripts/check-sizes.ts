/**
 * Keeps the server's source readable (issue 12): no file over MAX_FILE_LINES and no function over
 * MAX_FUNCTION_LINES in apps/server/src, tests and adapter conformance suites aside (a conformance suite
 * is one text every adapter of a port must pass, kept whole on purpose). Run by `npm run lint`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 120;
const root = path.resolve(import.meta.dirname, '..', 'apps/server/src');

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* sources(full);
    else if (/\.ts$/.test(name) && !/\.test\.ts$|\.d\.ts$|(^|\/)conformance\.ts$/.test(name)) yield full;
  }
}

const problems: string[] = [];
for (const file of sources(root)) {
  const text = readFileSync(file, 'utf8');
  const rel = path.relative(process.cwd(), file);
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > MAX_FILE_LINES) problems.push(`${rel}: ${lines} lines (at most ${MAX_FILE_LINES})`);
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const n = end - start + 1;
      if (n > MAX_FUNCTION_LINES) {
        const name = (node as ts.FunctionDeclaration).name?.getText(sf) ?? '(anonymous)';
        problems.push(`${rel}:${start + 1}: function ${name} is ${n} lines (at most ${MAX_FUNCTION_LINES})`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
for (const p of problems) console.error(p);
if (problems.length) process.exit(1);
console.log(`sizes: every file ≤ ${MAX_FILE_LINES} lines, every function ≤ ${MAX_FUNCTION_LINES} lines`);
