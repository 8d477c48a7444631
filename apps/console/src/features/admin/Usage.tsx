import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import type { TenantUsage } from '../../api/types';
import { csvHref, formatDuration, formatNumber, RANGE_IDS, type RangeId, rangeQuery } from '../stats/format';
import { CsvLink, json, Segmented } from '../stats/parts';
import { formatBytes } from './format';
import { ErrorBox } from './parts';
import {
  nextSort,
  sortUsage,
  USAGE_COLUMNS,
  type UsageColumn,
  type UsageSort,
  unused,
  usageTotals,
} from './usage-rows';

/** Every tenant's usage over a range: a sortable table with a totals row, and its CSV. */
export function Usage() {
  const { t } = useTranslation('admin');
  const [range, setRange] = useState<RangeId>('24h');
  const { from, to } = rangeQuery(range);
  const usage = useQuery({
    queryKey: ['admin', 'usage', range],
    queryFn: async () => {
      const q = rangeQuery(range);
      return json(
        unwrap(await api.GET('/v1/admin/usage', { params: { query: { from: q.from, to: q.to } } })),
      );
    },
    placeholderData: keepPreviousData,
  });
  const rows = usage.data?.data;
  return (
    <div className="admin-view">
      <div className="admin-view-head">
        <h2>{t('section.usage')}</h2>
        <CsvLink href={csvHref('/v1/admin/usage', { from, to })} what={t('usage.csv')} />
      </div>
      <Segmented
        legend={t('stats:range')}
        options={RANGE_IDS}
        value={range}
        label={(r) => t(`stats:ranges.${r}`)}
        onChange={setRange}
      />
      {usage.isError && !usage.data ? (
        <ErrorBox error={usage.error} retry={() => void usage.refetch()} />
      ) : !rows ? (
        <p role="status">{t('common:loading')}</p>
      ) : rows.length === 0 ? (
        <p className="empty">{t('usage.noTenants')}</p>
      ) : rows.every(unused) ? (
        <p className="empty">{t('usage.empty')}</p>
      ) : (
        <UsageTable rows={rows} />
      )}
      <p className="muted admin-usage-note">{t('stats:lag')}</p>
    </div>
  );
}

function UsageTable({ rows }: { rows: TenantUsage[] }) {
  const { t, i18n } = useTranslation('admin');
  const lang = i18n.language;
  const [sort, setSort] = useState<UsageSort>({ by: 'deliveredBytes', descending: true });
  const sorted = sortUsage(rows, sort, lang);
  const num = (n: number) => formatNumber(n, lang);
  const total = usageTotals(rows);
  const storage = (n: number | null) =>
    n === null ? <span className="muted">{t('usage.notMeasured')}</span> : formatBytes(n, lang);
  // The order's arrow, on the side away from the column's alignment (so that the names line up with it).
  const mark = (c: UsageColumn) => (
    <span aria-hidden="true" className="admin-sort-mark">
      {sort.by === c ? (sort.descending ? '▼' : '▲') : ''}
    </span>
  );
  return (
    <>
      <div className="table-wrap">
        <table className="videos admin-table admin-usage">
          <caption className="visually-hidden">{t('usage.caption')}</caption>
          <thead>
            <tr>
              {USAGE_COLUMNS.map((c) => (
                <th
                  key={c}
                  scope="col"
                  className={c === 'tenantName' ? undefined : 'num'}
                  aria-sort={sort.by === c ? (sort.descending ? 'descending' : 'ascending') : undefined}
                >
                  <button type="button" className="admin-sort" onClick={() => setSort((s) => nextSort(s, c))}>
                    {c !== 'tenantName' && mark(c)}
                    {t(`usage.columns.${c}`)}
                    {c === 'tenantName' && mark(c)}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => (
              <tr key={r.tenantId}>
                <th scope="row">
                  <Link to={`/admin/tenants/${encodeURIComponent(r.tenantId)}`}>{r.tenantName}</Link>
                </th>
                <td className="num">{num(r.views)}</td>
                <td className="num">{storage(r.storageBytes)}</td>
                <td className="num">{formatBytes(r.deliveredBytes, lang)}</td>
                <td className="num">{num(r.requests)}</td>
                <td className="num">{t('stats:mbps', { value: formatNumber(r.peakMbps, lang, 1) })}</td>
                <td className="num">{formatDuration(r.transcodedSeconds)}</td>
                <td className="num">{num(r.uploads)}</td>
                <td className="num">{num(r.imports)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">{t('usage.total', { count: rows.length })}</th>
              <td className="num">{num(total.views)}</td>
              <td className="num">{storage(total.storageBytes)}</td>
              <td className="num">{formatBytes(total.deliveredBytes, lang)}</td>
              <td className="num">{num(total.requests)}</td>
              <td className="num">
                <span aria-hidden="true">—</span>
                <span className="visually-hidden">{t('usage.noTotalPeak')}</span>
              </td>
              <td className="num">{formatDuration(total.transcodedSeconds)}</td>
              <td className="num">{num(total.uploads)}</td>
              <td className="num">{num(total.imports)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
      <p className="muted admin-usage-note">{t('usage.note')}</p>
    </>
  );
}
