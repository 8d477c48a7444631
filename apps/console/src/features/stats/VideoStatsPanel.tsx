import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import type { BreakdownRow } from '../../api/types';
import { formatBytes } from '../upload/format';
import { BarChart } from './BarChart';
import {
  csvHref,
  formatDuration,
  formatNumber,
  formatPercent,
  periodLabel,
  RANGE_IDS,
  type RangeId,
  rangeQuery,
} from './format';
import { CsvLink, json, LoadError, Segmented, Totals, useDimensionLabel } from './parts';

/** A video's top browsers or devices over a range (the five with the most views). */
function useBreakdown(videoId: string, by: 'browser' | 'device', range: RangeId) {
  return useQuery({
    queryKey: ['stats', 'breakdown', videoId, by, range],
    queryFn: async () => {
      const { from, to } = rangeQuery(range);
      return json(
        unwrap(
          await api.GET('/v1/stats/breakdown', { params: { query: { by, videoId, from, to, limit: 5 } } }),
        ),
      ).data;
    },
    placeholderData: keepPreviousData,
  });
}

/** The video page's statistics: a range, the totals, views and watch time per period, browsers and devices. */
export function VideoStatsPanel({ videoId }: { videoId: string }) {
  const { t, i18n } = useTranslation('stats');
  const lang = i18n.language;
  const [range, setRange] = useState<RangeId>('24h');
  const q = rangeQuery(range);
  const stats = useQuery({
    queryKey: ['stats', 'video', videoId, range],
    queryFn: async () =>
      json(
        unwrap(
          await api.GET('/v1/stats/videos/{id}', {
            params: { path: { id: videoId }, query: rangeQuery(range) },
          }),
        ),
      ),
    placeholderData: keepPreviousData,
  });
  const browsers = useBreakdown(videoId, 'browser', range);
  const devices = useBreakdown(videoId, 'device', range);
  const num = (n: number) => formatNumber(n, lang);
  const ms = (n: number | null) => (n === null ? t('none') : t('ms', { value: num(n) }));
  const s = stats.data;
  return (
    <section aria-labelledby="statistics-h" className="panel stats-panel">
      <div className="stats-head">
        <h2 id="statistics-h">{t('title')}</h2>
        <CsvLink href={csvHref(`/v1/stats/videos/${encodeURIComponent(videoId)}`, q)} what={t('video.csv')} />
      </div>
      <Segmented
        legend={t('range')}
        options={RANGE_IDS}
        value={range}
        label={(r) => t(`ranges.${r}`)}
        onChange={setRange}
      />
      {stats.isError && !s ? (
        <LoadError error={stats.error} retry={() => void stats.refetch()} />
      ) : !s ? (
        <p role="status">{t('common:loading')}</p>
      ) : (
        <>
          <Totals
            label={t('totals.label')}
            items={[
              [t('totals.views'), num(s.totals.views)],
              [t('totals.uniqueViewers'), num(s.totals.uniqueViewers)],
              [t('totals.watchTime'), formatDuration(s.totals.watchSeconds)],
              [t('totals.startupP50'), ms(s.totals.startupMsP50)],
              [t('totals.startupP95'), ms(s.totals.startupMsP95)],
              [t('totals.rebufferRatio'), formatPercent(s.totals.rebufferRatio, lang)],
              [t('totals.errors'), num(s.totals.errors)],
              [t('totals.deliveredBytes'), formatBytes(s.totals.deliveredBytes, lang)],
            ]}
          />
          {s.totals.views === 0 && s.totals.watchSeconds === 0 ? (
            <p className="empty">{t('noViews')}</p>
          ) : (
            <>
              <div className="stats-charts">
                <BarChart
                  title={t(`charts.views.${s.granularity === 'day' ? 'day' : 'hour'}`)}
                  values={s.series.map((p) => p.views)}
                  labels={s.series.map((p) => periodLabel(p.time, s.granularity, lang))}
                  format={num}
                />
                <BarChart
                  title={t(`charts.watch.${s.granularity === 'day' ? 'day' : 'hour'}`)}
                  values={s.series.map((p) => p.watchSeconds)}
                  labels={s.series.map((p) => periodLabel(p.time, s.granularity, lang))}
                  format={formatDuration}
                  tone="second"
                />
              </div>
              <div className="stats-breakdowns">
                <BreakdownTable by="browser" rows={browsers.data} />
                <BreakdownTable by="device" rows={devices.data} />
              </div>
            </>
          )}
          <p className="muted stats-note">{t('lag')}</p>
        </>
      )}
    </section>
  );
}

function BreakdownTable({ by, rows }: { by: 'browser' | 'device'; rows: BreakdownRow[] | undefined }) {
  const { t, i18n } = useTranslation('stats');
  const label = useDimensionLabel();
  const played = (rows ?? []).filter((r) => r.views > 0);
  if (played.length === 0) return null;
  return (
    <div className="table-wrap">
      <table className="videos stats-table">
        <caption>{t(`breakdown.${by}`)}</caption>
        <thead>
          <tr>
            <th scope="col">{t(`breakdown.${by}Column`)}</th>
            <th scope="col" className="num">
              {t('breakdown.views')}
            </th>
            <th scope="col" className="num">
              {t('breakdown.watchTime')}
            </th>
          </tr>
        </thead>
        <tbody>
          {played.map((r) => (
            <tr key={r.value ?? ''}>
              <th scope="row">{label(by, r.value)}</th>
              <td className="num">{formatNumber(r.views, i18n.language)}</td>
              <td className="num">{formatDuration(r.watchSeconds)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
