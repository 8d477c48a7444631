import type { components } from '@vodcloud/sdk';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { number, timeOnly } from './format';
import { LiveNote, useLiveQuery } from './live';
import { ErrorBox } from './parts';
import { Sparkline } from './Sparkline';

type Series = components['schemas']['CallSeries'];
type Figures = components['schemas']['CallFigures'];

const RANGES = [15, 60, 360, 1440] as const;
type Range = (typeof RANGES)[number];
const MINUTE = 60_000;

/** The minutes from `from` to `to` (floored), and each series' figures on that grid (null: none reported). */
function grid(from: string, to: string) {
  const start = Math.floor(Date.parse(from) / MINUTE) * MINUTE;
  const end = Math.floor(Date.parse(to) / MINUTE) * MINUTE;
  const minutes: number[] = [];
  for (let m = start; m <= end; m += MINUTE) minutes.push(m);
  return minutes;
}

function onGrid(minutes: number[], s: Series) {
  const by = new Map(s.points.map((p) => [Math.floor(Date.parse(p.minute) / MINUTE) * MINUTE, p]));
  return minutes.map((m) => by.get(m) ?? null);
}

/** RPC calls, errors and latency per service and method, per minute, with small charts. */
export function Monitor() {
  const { t, i18n } = useTranslation('admin');
  const id = useId();
  const [range, setRange] = useState<Range>(60);
  const stats = useLiveQuery(['admin', 'monitor', range], async () => {
    const to = Date.now();
    const query = { from: new Date(to - range * MINUTE).toISOString(), to: new Date(to).toISOString() };
    return unwrap(await api.GET('/v1/admin/monitor', { params: { query } }));
  });
  const num = number(i18n.language, 1);
  const minutes = stats.data ? grid(stats.data.from, stats.data.to) : [];
  const span: [number, number] = [minutes[0] ?? 0, minutes[minutes.length - 1] ?? 0];
  return (
    <div className="admin-view">
      <div className="admin-view-head">
        <h2>{t('section.monitor')}</h2>
        <LiveNote updatedAt={stats.dataUpdatedAt} />
      </div>
      <div className="field admin-range">
        <label htmlFor={id}>{t('monitor.range')}</label>
        <select id={id} value={range} onChange={(e) => setRange(Number(e.target.value) as Range)}>
          {RANGES.map((r) => (
            <option key={r} value={r}>
              {r < 60 ? t('monitor.minutes', { count: r }) : t('monitor.hours', { count: r / 60 })}
            </option>
          ))}
        </select>
      </div>
      {stats.isError && !stats.data ? (
        <ErrorBox error={stats.error} retry={() => void stats.refetch()} />
      ) : stats.isPending ? (
        <p role="status">{t('common:loading')}</p>
      ) : (
        <>
          <Totals figures={stats.data.totals} />
          {stats.data.series.length === 0 ? (
            <p className="empty">{t('monitor.empty')}</p>
          ) : (
            <div className="admin-series-list">
              {stats.data.series.map((s) => {
                const points = onGrid(minutes, s);
                const name = `${s.service} · ${s.method}`;
                return (
                  <article
                    key={`${s.service}|${s.method}|${s.side}`}
                    className="card admin-series"
                    aria-label={`${name} (${t(`monitor.side.${s.side}`)})`}
                  >
                    <h3>
                      <span className="admin-mono">{s.service}</span> ·{' '}
                      <span className="admin-mono">{s.method}</span>{' '}
                      <span className="status">{t(`monitor.side.${s.side}`)}</span>
                    </h3>
                    <p className="muted">
                      {t('monitor.seriesTotals', {
                        calls: num.format(s.totals.calls),
                        errors: num.format(s.totals.errors),
                        mean: num.format(s.totals.meanMs),
                        p95: num.format(s.totals.p95Ms),
                      })}
                    </p>
                    <div className="admin-charts">
                      <Chart
                        span={span}
                        title={t('monitor.calls')}
                        values={points.map((p) => p?.calls ?? 0)}
                        label={t('monitor.chartLabel', {
                          what: t('monitor.calls'),
                          name,
                          max: num.format(Math.max(0, ...points.map((p) => p?.calls ?? 0))),
                        })}
                      />
                      <Chart
                        span={span}
                        title={t('monitor.errors')}
                        tone="danger"
                        values={points.map((p) => p?.errors ?? 0)}
                        label={t('monitor.chartLabel', {
                          what: t('monitor.errors'),
                          name,
                          max: num.format(Math.max(0, ...points.map((p) => p?.errors ?? 0))),
                        })}
                      />
                      <Chart
                        span={span}
                        title={t('monitor.p95')}
                        values={points.map((p) => (p ? p.p95Ms : null))}
                        label={t('monitor.chartLabel', {
                          what: t('monitor.p95'),
                          name,
                          max: num.format(Math.max(0, ...points.map((p) => p?.p95Ms ?? 0))),
                        })}
                      />
                    </div>
                    <details>
                      <summary>{t('monitor.table')}</summary>
                      <div className="table-wrap">
                        <table className="videos admin-table">
                          <caption className="visually-hidden">{name}</caption>
                          <thead>
                            <tr>
                              <th scope="col">{t('monitor.minute')}</th>
                              <th scope="col" className="num">
                                {t('monitor.calls')}
                              </th>
                              <th scope="col" className="num">
                                {t('monitor.errors')}
                              </th>
                              <th scope="col" className="num">
                                {t('monitor.mean')}
                              </th>
                              <th scope="col" className="num">
                                {t('monitor.p95')}
                              </th>
                            </tr>
                          </thead>
                          <tbody>
                            {s.points.map((p) => (
                              <tr key={p.minute}>
                                <td>{timeOnly(i18n.language).format(new Date(p.minute))}</td>
                                <td className="num">{num.format(p.calls)}</td>
                                <td className="num">{num.format(p.errors)}</td>
                                <td className="num">{num.format(p.meanMs)}</td>
                                <td className="num">{num.format(p.p95Ms)}</td>
                              </tr>
                            ))}
                          </tbody>
                        </table>
                      </div>
                    </details>
                  </article>
                );
              })}
            </div>
          )}
        </>
      )}
    </div>
  );
}

function Chart(props: {
  title: string;
  label: string;
  values: Array<number | null>;
  span: [number, number];
  tone?: 'danger';
}) {
  const max = Math.max(0, ...props.values.map((v) => v ?? 0));
  const { i18n } = useTranslation();
  const hm = new Intl.DateTimeFormat(i18n.language, { hour: '2-digit', minute: '2-digit' });
  return (
    <figure className="admin-chart">
      <figcaption>
        <span>{props.title}</span>
        <span className="muted" aria-hidden="true">
          {number(i18n.language, 1).format(max)}
        </span>
      </figcaption>
      <Sparkline values={props.values} label={props.label} {...(props.tone ? { tone: props.tone } : {})} />
      <div className="admin-chart-axis muted" aria-hidden="true">
        <span>{hm.format(props.span[0])}</span>
        <span>{hm.format(props.span[1])}</span>
      </div>
    </figure>
  );
}

function Totals({ figures }: { figures: Figures }) {
  const { t, i18n } = useTranslation('admin');
  const num = number(i18n.language, 1);
  const items: Array<[string, string]> = [
    [t('monitor.total.calls'), num.format(figures.calls)],
    [t('monitor.total.errors'), num.format(figures.errors)],
    [t('monitor.total.mean'), `${num.format(figures.meanMs)} ms`],
    [t('monitor.total.p95'), `${num.format(figures.p95Ms)} ms`],
    [t('monitor.total.max'), `${num.format(figures.maxMs)} ms`],
  ];
  return (
    <dl className="admin-totals">
      {items.map(([k, v]) => (
        <div key={k} className="card">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
