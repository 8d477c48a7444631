import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import type { UsageStats } from '../../api/types';
import { PageTitle } from '../../ui/PageTitle';
import { formatBytes } from '../upload/format';
import { BarChart } from './BarChart';
import {
  csvHref,
  formatDuration,
  formatNumber,
  periodLabel,
  RANGE_IDS,
  type RangeId,
  type RangeQuery,
  rangeQuery,
} from './format';
import { CsvLink, json, LoadError, Segmented, Totals } from './parts';

const METRICS = ['views', 'watchSeconds', 'deliveredBytes'] as const;
type Metric = (typeof METRICS)[number];

/** The tenant's statistics: usage over a range (totals, charts, transcoding by rendition) and its top videos. */
export default function StatsPage() {
  const { t } = useTranslation('stats');
  const [range, setRange] = useState<RangeId>('24h');
  const q = rangeQuery(range);
  return (
    <section className="page stats-page">
      <PageTitle>{t('title')}</PageTitle>
      <Segmented
        legend={t('range')}
        options={RANGE_IDS}
        value={range}
        label={(r) => t(`ranges.${r}`)}
        onChange={setRange}
      />
      <Usage range={range} q={q} />
      <TopVideos range={range} q={q} />
      <p className="muted stats-note">{t('lag')}</p>
    </section>
  );
}

function Usage({ range, q }: { range: RangeId; q: RangeQuery }) {
  const { t } = useTranslation('stats');
  const usage = useQuery({
    queryKey: ['stats', 'usage', range],
    queryFn: async () =>
      json(unwrap(await api.GET('/v1/stats/usage', { params: { query: rangeQuery(range) } }))),
    placeholderData: keepPreviousData,
  });
  return (
    <section aria-labelledby="usage-h" className="panel stats-section">
      <div className="stats-head">
        <h2 id="usage-h">{t('usage.title')}</h2>
        <CsvLink href={csvHref('/v1/stats/usage', q)} what={t('usage.csv')} />
      </div>
      {usage.isError && !usage.data ? (
        <LoadError error={usage.error} retry={() => void usage.refetch()} />
      ) : !usage.data ? (
        <p role="status">{t('common:loading')}</p>
      ) : (
        <UsageBody u={usage.data} />
      )}
    </section>
  );
}

function UsageBody({ u }: { u: UsageStats }) {
  const { t, i18n } = useTranslation('stats');
  const lang = i18n.language;
  const num = (n: number) => formatNumber(n, lang);
  const mbps = (n: number) => t('mbps', { value: formatNumber(n, lang, 1) });
  const bytes = (n: number) => formatBytes(n, lang);
  const per = u.granularity === 'day' ? 'day' : 'hour';
  const labels = u.series.map((p) => periodLabel(p.time, u.granularity, lang));
  const x = u.totals;
  const empty =
    x.storageBytes === null &&
    x.deliveredBytes === 0 &&
    x.requests === 0 &&
    x.transcodedSeconds === 0 &&
    x.uploads === 0 &&
    x.imports === 0;
  const renditions = Object.entries(x.transcodedSecondsByRendition).sort(
    ([a], [b]) => Number.parseInt(b, 10) - Number.parseInt(a, 10) || a.localeCompare(b),
  );
  return (
    <>
      <Totals
        label={t('totals.label')}
        items={[
          x.storageBytes === null
            ? [t('usage.storage'), t('none'), t('usage.notMeasured')]
            : [t('usage.storage'), bytes(x.storageBytes), t('usage.storageHint')],
          [t('usage.deliveredBytes'), bytes(x.deliveredBytes)],
          [t('usage.requests'), num(x.requests)],
          [t('usage.peakMbps'), mbps(x.peakMbps)],
          [t('usage.transcoded'), formatDuration(x.transcodedSeconds)],
          [t('usage.uploads'), num(x.uploads)],
          [t('usage.imports'), num(x.imports)],
        ]}
      />
      {empty ? (
        <p className="empty">{t('noUsage')}</p>
      ) : (
        <>
          <div className="stats-charts">
            <BarChart
              title={t(`charts.delivered.${per}`)}
              values={u.series.map((p) => p.deliveredBytes)}
              labels={labels}
              format={bytes}
            />
            <BarChart
              title={t(`charts.peak.${per}`)}
              values={u.series.map((p) => p.peakMbps)}
              labels={labels}
              format={mbps}
              additive={false}
              tone="second"
            />
            <BarChart
              title={t(`charts.transcoded.${per}`)}
              values={u.series.map((p) => p.transcodedSeconds)}
              labels={labels}
              format={formatDuration}
            />
            <BarChart
              title={t(`charts.added.${per}`)}
              values={u.series.map((p) => p.uploads + p.imports)}
              labels={labels}
              format={num}
              tone="second"
            />
          </div>
          {renditions.length === 0 ? (
            <p className="muted">{t('usage.noTranscoding')}</p>
          ) : (
            <div className="table-wrap stats-narrow">
              <table className="videos stats-table">
                <caption>{t('usage.byRendition')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('usage.rendition')}</th>
                    <th scope="col" className="num">
                      {t('usage.time')}
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {renditions.map(([name, seconds]) => (
                    <tr key={name}>
                      <th scope="row">{name}</th>
                      <td className="num">{formatDuration(seconds)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </>
  );
}

function TopVideos({ range, q }: { range: RangeId; q: RangeQuery }) {
  const { t, i18n } = useTranslation('stats');
  const lang = i18n.language;
  const [metric, setMetric] = useState<Metric>('views');
  const top = useQuery({
    queryKey: ['stats', 'top', range, metric],
    queryFn: async () => {
      const { from, to } = rangeQuery(range);
      return json(
        unwrap(await api.GET('/v1/stats/top-videos', { params: { query: { from, to, metric, limit: 10 } } })),
      ).data;
    },
    placeholderData: keepPreviousData,
  });
  const sort = (m: Metric) => (m === metric ? ('descending' as const) : undefined);
  const rows = top.data?.filter((v) => v.views > 0 || v.watchSeconds > 0 || v.deliveredBytes > 0);
  return (
    <section aria-labelledby="top-h" className="panel stats-section">
      <div className="stats-head">
        <h2 id="top-h">{t('top.title')}</h2>
        <CsvLink
          href={csvHref('/v1/stats/top-videos', { from: q.from, to: q.to, metric, limit: 100 })}
          what={t('top.csv')}
        />
      </div>
      <Segmented
        legend={t('top.metric')}
        options={METRICS}
        value={metric}
        label={(m) => t(`top.metrics.${m}`)}
        onChange={setMetric}
      />
      {top.isError && !top.data ? (
        <LoadError error={top.error} retry={() => void top.refetch()} />
      ) : !rows ? (
        <p role="status">{t('common:loading')}</p>
      ) : rows.length === 0 ? (
        <p className="empty">{t('noViews')}</p>
      ) : (
        <div className="table-wrap">
          <table className="videos stats-table">
            <caption className="visually-hidden">{t('top.title')}</caption>
            <thead>
              <tr>
                <th scope="col" className="num stats-rank hide-narrow">
                  {t('top.rank')}
                </th>
                <th scope="col">{t('top.video')}</th>
                <th scope="col" className="num" aria-sort={sort('views')}>
                  {t('top.metrics.views')}
                </th>
                <th scope="col" className="num" aria-sort={sort('watchSeconds')}>
                  {t('top.metrics.watchSeconds')}
                </th>
                <th scope="col" className="num" aria-sort={sort('deliveredBytes')}>
                  {t('top.metrics.deliveredBytes')}
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((v, i) => (
                <tr key={v.videoId}>
                  <td className="num stats-rank hide-narrow">{i + 1}</td>
                  <td className="title-cell">
                    <Link
                      to={`/videos/${encodeURIComponent(v.videoId)}`}
                      className={v.title ? undefined : 'muted'}
                    >
                      {v.title || t('untitled')}
                    </Link>
                  </td>
                  <td className="num">{formatNumber(v.views, lang)}</td>
                  <td className="num">{formatDuration(v.watchSeconds)}</td>
                  <td className="num">{formatBytes(v.deliveredBytes, lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
