// A small bar chart in plain SVG (a bar per period: 8 to 31 of them), themed by CSS, with no library. The
// SVG is one image to assistive technology: its aria-label says what it shows, the total and the highest period.
import { useTranslation } from 'react-i18next';

const W = 300;
const H = 80;

export interface BarChartProps {
  /** What is counted, as a caption ("Views"). */
  title: string;
  /** A value per period, and each period's label. */
  values: number[];
  labels: string[];
  /** A figure as shown (the caption's maximum, a bar's tooltip, the summary). */
  format: (n: number) => string;
  /** Whether the values add up (views) or not (a peak rate): the summary says the total only for sums. */
  additive?: boolean;
  tone?: 'accent' | 'second';
}

export function BarChart(p: BarChartProps) {
  const { t } = useTranslation('stats');
  const n = p.values.length;
  const max = Math.max(0, ...p.values);
  const peak = p.values.indexOf(max);
  const total = p.values.reduce((a, b) => a + b, 0);
  const from = p.labels[0] ?? '';
  const to = p.labels[n - 1] ?? '';
  const summary =
    max === 0
      ? t('chart.none', { what: p.title, from, to })
      : p.additive === false
        ? t('chart.peakOnly', { what: p.title, from, to, max: p.format(max), at: p.labels[peak] })
        : t('chart.summary', {
            what: p.title,
            from,
            to,
            total: p.format(total),
            max: p.format(max),
            at: p.labels[peak],
          });
  const slot = n > 0 ? W / n : W;
  const gap = Math.min(2, slot * 0.2);
  return (
    <figure className="stats-chart">
      <figcaption>
        <span>{p.title}</span>
        <span className="muted" aria-hidden="true">
          {t('chart.max', { value: p.format(max) })}
        </span>
      </figcaption>
      <svg
        className={`stats-bars stats-bars-${p.tone ?? 'accent'}`}
        viewBox={`0 0 ${W} ${H}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={summary}
      >
        <line x1="0" y1={H - 0.5} x2={W} y2={H - 0.5} className="stats-axis" />
        {p.values.map((v, i) => {
          if (v <= 0 || max === 0) return null;
          const h = Math.max(1, (v / max) * (H - 4));
          return (
            <rect
              // biome-ignore lint/suspicious/noArrayIndexKey: the periods are a fixed grid
              key={i}
              x={i * slot + gap / 2}
              y={H - h}
              width={slot - gap}
              height={h}
            >
              <title>{`${p.labels[i]}: ${p.format(v)}`}</title>
            </rect>
          );
        })}
      </svg>
      <div className="stats-chart-axis muted" aria-hidden="true">
        <span>{from}</span>
        <span>{to}</span>
      </div>
    </figure>
  );
}
