// Row counts of a mariadb-dump file, read from the dump itself (the dump tool's transaction cannot be shared,
// so counting beside it would be another moment). mariadb-dump writes one `CREATE TABLE \`t\`` per table and
// extended inserts: `INSERT INTO \`t\` VALUES (…),(…);` on one line (MySQL) or a row a line after it (MariaDB
// 10.x), strings in single quotes with backslash escapes (a newline in a value is written \n) and binary
// columns as 0x… (--hex-blob). Each top-level parenthesis opens one row; `;` at the top ends the statement.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const CREATE = /^CREATE TABLE `((?:[^`]|``)+)`/;
const INSERT = /^INSERT INTO `((?:[^`]|``)+)` VALUES ?/;

/** Rows opened in `line` from `start`, and whether the statement ended (a `;` outside rows and quotes). */
export function countTuples(line: string, start: number): { rows: number; ended: boolean } {
  let rows = 0;
  let depth = 0;
  let quoted = false;
  for (let i = start; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (quoted) {
      if (c === 92 /* \ */) i++;
      else if (c === 39 /* ' */) quoted = false;
    } else if (c === 39) quoted = true;
    else if (c === 40 /* ( */) {
      if (depth++ === 0) rows++;
    } else if (c === 41 /* ) */) depth--;
    else if (c === 59 /* ; */ && depth === 0) return { rows, ended: true };
  }
  return { rows, ended: false };
}

/** Table → rows of the dump `file`. */
export async function mysqlDumpRowCounts(file: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let table: string | undefined; // inside an INSERT of this table
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    let from = 0;
    if (table === undefined) {
      const c = line.charCodeAt(0);
      if (c !== 67 /* C */ && c !== 73 /* I */) continue;
      const create = CREATE.exec(line);
      if (create) counts[create[1]!.replace(/``/g, '`')] ??= 0;
      const ins = INSERT.exec(line);
      if (!ins) continue;
      table = ins[1]!.replace(/``/g, '`');
      from = ins[0].length;
    }
    const { rows, ended } = countTuples(line, from);
    counts[table] = (counts[table] ?? 0) + rows;
    if (ended) table = undefined;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}
