import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { dumpDatabase } from './backup-dump';
import { countTuples } from './backup-mysql-counts';

const dir = mkdtempSync(path.join(tmpdir(), 'vodbackupdump-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite online backup', () => {
  it('completes while another connection keeps writing (a copy in small steps would restart forever)', async () => {
    const file = path.join(dir, 'live.db');
    const live = new Sqlite(file);
    live.pragma('journal_mode = WAL');
    live.exec('create table t (id integer primary key, v text)');
    live.exec(
      'with recursive n(i) as (select 1 union all select i + 1 from n where i < 60000) ' +
        'insert into t (v) select hex(randomblob(100)) from n',
    );
    const insert = live.prepare("insert into t (v) values ('during')");
    let writes = 0;
    const writer = setInterval(() => {
      insert.run();
      writes++;
    }, 1);
    try {
      const dump = await Promise.race([
        dumpDatabase('sqlite', `sqlite:${file}`, path.join(dir, 'copy.db'), 10_000),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('backup did not finish')), 10_000),
        ),
      ]);
      expect(writes).toBeGreaterThan(0);
      expect(dump.rowCounts!.t).toBeGreaterThanOrEqual(60_000);
      const copy = new Sqlite(path.join(dir, 'copy.db'), { readonly: true });
      expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
      expect((copy.prepare('select count(*) as n from t').get() as { n: number }).n).toBe(dump.rowCounts!.t);
      copy.close();
    } finally {
      clearInterval(writer);
      live.close();
    }
  }, 20_000);
});

describe('row counts of a mariadb-dump file', () => {
  it('counts rows, not parentheses or semicolons inside quoted strings', () => {
    const prefix = 'INSERT INTO `t` VALUES ';
    const line = `${prefix}('a\\'b),(c \\\\\\' ( x;',0x00FF),('(((',NULL),(')),(\\';','');`;
    expect(countTuples(line, prefix.length)).toEqual({ rows: 3, ended: true });
    // MariaDB 10.x: a row a line after the INSERT line.
    expect(countTuples("('(((',NULL),", 0)).toEqual({ rows: 1, ended: false });
    expect(countTuples("(')),(\\';','');", 0)).toEqual({ rows: 1, ended: true });
  });
});
