import { describe, expect, it } from 'vitest';
import type { TenantUsage } from '../../api/types';
import { nextSort, sortUsage, unused, usageTotals } from './usage-rows';

const row = (tenantName: string, o: Partial<TenantUsage> = {}): TenantUsage => ({
  tenantId: tenantName.toUpperCase(),
  tenantName,
  views: 0,
  storageBytes: null,
  deliveredBytes: 0,
  requests: 0,
  peakMbps: 0,
  transcodedSeconds: 0,
  uploads: 0,
  imports: 0,
  ...o,
});
const names = (rows: TenantUsage[]) => rows.map((r) => r.tenantName);

describe('the admin Usage page’s order and totals', () => {
  const rows = [
    row('beta', { deliveredBytes: 10, storageBytes: 5, uploads: 1 }),
    row('alpha', { deliveredBytes: 10, views: 3, imports: 2 }),
    row('gamma', { deliveredBytes: 900, storageBytes: 7, transcodedSeconds: 1.5, peakMbps: 4 }),
    row('delta'),
  ];

  it('sorts by a column (ties by name), names alphabetically, unmeasured storage last either way', () => {
    expect(names(sortUsage(rows, { by: 'deliveredBytes', descending: true }, 'en'))).toEqual([
      'gamma',
      'alpha',
      'beta',
      'delta',
    ]);
    expect(names(sortUsage(rows, { by: 'deliveredBytes', descending: false }, 'en'))).toEqual([
      'delta',
      'alpha',
      'beta',
      'gamma',
    ]);
    expect(names(sortUsage(rows, { by: 'tenantName', descending: false }, 'en'))).toEqual([
      'alpha',
      'beta',
      'delta',
      'gamma',
    ]);
    expect(names(sortUsage(rows, { by: 'storageBytes', descending: true }, 'en'))).toEqual([
      'gamma',
      'beta',
      'alpha',
      'delta',
    ]);
    expect(names(sortUsage(rows, { by: 'storageBytes', descending: false }, 'en'))).toEqual([
      'beta',
      'gamma',
      'alpha',
      'delta',
    ]);
  });

  it('turns the sorted column round; another column starts descending, the name ascending', () => {
    const s = { by: 'deliveredBytes', descending: true } as const;
    expect(nextSort(s, 'deliveredBytes')).toEqual({ by: 'deliveredBytes', descending: false });
    expect(nextSort(s, 'uploads')).toEqual({ by: 'uploads', descending: true });
    expect(nextSort(s, 'tenantName')).toEqual({ by: 'tenantName', descending: false });
  });

  it('sums the columns, storage over the tenants measured', () => {
    expect(usageTotals(rows)).toEqual({
      views: 3,
      storageBytes: 12,
      deliveredBytes: 920,
      requests: 0,
      transcodedSeconds: 1.5,
      uploads: 1,
      imports: 2,
    });
    expect(usageTotals([row('delta')]).storageBytes).toBeNull();
    expect(rows.map(unused)).toEqual([false, false, false, true]);
    expect(unused(row('epsilon', { storageBytes: 0 }))).toBe(true);
    expect(unused(row('zeta', { storageBytes: 1 }))).toBe(false);
  });
});
