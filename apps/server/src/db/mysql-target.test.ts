import { describe, expect, it } from 'vitest';
import { engineUrl } from '../../../../test/support/engines';
import { mysqlTargets, mysqlUrlOf, writableMysql } from './mysql-target';

describe('mysql URLs of the backup tools', () => {
  it('reads a host list with the credentials and database they share', () => {
    expect(mysqlTargets('mysql://u:p%40ss@h1:13307,h2:13308,[::1]/vod')).toEqual([
      { host: 'h1', port: 13307, user: 'u', password: 'p@ss', database: 'vod' },
      { host: 'h2', port: 13308, user: 'u', password: 'p@ss', database: 'vod' },
      { host: '::1', port: 3306, user: 'u', password: 'p@ss', database: 'vod' },
    ]);
    expect(mysqlTargets('mariadb://db/vod')).toEqual([
      { host: 'db', port: 3306, user: 'root', password: '', database: 'vod' },
    ]);
    expect(() => mysqlTargets('mysql://u:secret@h1:3306')).toThrow(/names no database/);
    expect(() => mysqlTargets('mysql://u:secret@h1:3306')).not.toThrow(/secret/);
    expect(mysqlUrlOf(mysqlTargets('mysql://u:p%40ss@h2:13308/vod')[0]!)).toBe(
      'mysql://u:p%40ss@h2:13308/vod',
    );
  });

  const server = engineUrl('mysql', 'writable host of a mysql host list');
  it.skipIf(!server)(
    'picks the host that answers and is writable, skipping one that does not answer',
    async () => {
      const u = new URL(server!);
      const url = `mysql://${u.username || 'root'}@127.0.0.1:1,${u.hostname}:${u.port || 3306}/information_schema`;
      const t = await writableMysql(url, 2000);
      expect(t.port).toBe(Number(u.port || 3306));
      await expect(writableMysql('mysql://root@127.0.0.1:1,127.0.0.1:2/x', 2000)).rejects.toThrow(
        /no writable host .*127\.0\.0\.1:1 .*127\.0\.0\.1:2/,
      );
    },
  );
});
