/**
 * PromQL as Prometheus reads it, through its own grammar (@prometheus-io/lezer-promql, the parser of
 * Prometheus's web UI): the metric names an expression selects, and whether it parses at all. For the
 * shipped dashboard and alert rules (deploy/observability/).
 */
import { parser } from '@prometheus-io/lezer-promql';

/** Grafana's variables as Prometheus would get them: a range for the rate interval, "any" for the others. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{?\w+\}?/g, '.+');
}

/** The metric names an expression selects (`foo{…}`, `foo[5m]`; not functions, labels or keywords). */
export function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names = new Set<string>();
  const errors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError)
        errors.push(`at ${node.from}: ${expr.slice(node.from, node.from + 30) || '(end)'}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        names.add(expr.slice(node.from, node.to));
    },
  });
  if (errors.length) throw new Error(`not PromQL (${errors.join('; ')}): ${expr}`);
  return [...names];
}

/** Metric families of a Prometheus text exposition (its `# TYPE` lines): name → type. */
export function metricFamilies(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Whether a selected name is a series of one of the families: itself, or a histogram's or summary's parts. */
export function isExported(name: string, families: Map<string, string>): boolean {
  if (families.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  const type = m ? families.get(m[1]!) : undefined;
  return type === 'histogram' || (type === 'summary' && m?.[2] !== 'bucket');
}
