// A small time-series chart in plain SVG: the monitor's series are one point per minute (60 to 1,440 per
// chart), few enough that an SVG path draws them sharply at any size, themed by CSS, with no library.

const W = 300;
const H = 64;

/** `values` one per minute (null: no figure that minute, a gap). */
export function Sparkline(props: {
  values: Array<number | null>;
  label: string;
  tone?: 'accent' | 'danger';
}) {
  const { values } = props;
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const n = values.length;
  const x = (i: number) => (n <= 1 ? W / 2 : (i / (n - 1)) * W);
  const y = (v: number) => (max === 0 ? H - 1 : H - 1 - (v / max) * (H - 4));
  // One sub-path per run of figures (a gap breaks the line).
  let line = '';
  let area = '';
  let run: Array<[number, number]> = [];
  const flush = () => {
    if (run.length === 0) return;
    if (run.length === 1) run.push([run[0]![0] + 0.5, run[0]![1]]);
    line += `M${run.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join('L')}`;
    area += `M${run[0]![0].toFixed(1)},${H}L${run.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join('L')}L${run[run.length - 1]![0].toFixed(1)},${H}Z`;
    run = [];
  };
  values.forEach((v, i) => {
    if (v === null) flush();
    else run.push([x(i), y(v)]);
  });
  flush();
  return (
    <svg
      className={`admin-spark admin-spark-${props.tone ?? 'accent'}`}
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={props.label}
    >
      <line x1="0" y1={H - 0.5} x2={W} y2={H - 0.5} className="admin-spark-axis" />
      {area && <path d={area} className="admin-spark-area" />}
      {line && <path d={line} className="admin-spark-line" vectorEffect="non-scaling-stroke" />}
    </svg>
  );
}
