import { readFileSync } from "node:fs";

/**
 * Metric names: those a PromQL expression reads, those a /metrics answer (Prometheus text
 * format) declares, and the queries of a Grafana dashboard and of an alert rules file. Used to
 * check that dashboards and alerts name only series the sidecar exports.
 */

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
]);

/** The metric names a PromQL expression reads (not its functions, labels, keywords, durations or strings). */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, " "); // label lists
  const names = new Set<string>();
  for (const m of bare.matchAll(/(\d[\w.]*)|([A-Za-z_:][\w:]*)/g)) {
    const name = m[2];
    if (!name || KEYWORDS.has(name.toLowerCase())) continue;
    if (/^\s*\(/.test(bare.slice(m.index! + name.length))) continue; // a function or aggregation
    names.add(name);
  }
  return [...names];
}

/**
 * The series names a Prometheus text exposition declares: every `# TYPE` (a metric without
 * samples yet, e.g. a labelled counter never incremented, is still exported), a histogram's or
 * summary's `_bucket`/`_sum`/`_count`, and every sample's name.
 */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const type = line.match(/^# TYPE (\S+) (\w+)/);
    if (type) {
      const [, name, kind] = type;
      names.add(name!);
      if (kind === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name! + s);
      if (kind === "summary") for (const s of ["_sum", "_count"]) names.add(name! + s);
      continue;
    }
    const sample = line.match(/^([A-Za-z_:][\w:]*)[{ ]/);
    if (sample) names.add(sample[1]!);
  }
  return names;
}

interface GrafanaPanel {
  title?: string;
  type?: string;
  targets?: { expr?: string }[];
  panels?: GrafanaPanel[];
}

/** Every panel of a Grafana dashboard JSON that shows data (rows' nested panels included), with its queries. */
export function dashboardQueries(file: string): { title: string; exprs: string[] }[] {
  const dashboard = JSON.parse(readFileSync(file, "utf8")) as { panels?: GrafanaPanel[] };
  const out: { title: string; exprs: string[] }[] = [];
  const visit = (panels: GrafanaPanel[] = []) => {
    for (const p of panels) {
      if (p.type === "row") visit(p.panels);
      else out.push({ title: p.title ?? "(untitled)", exprs: (p.targets ?? []).map((t) => t.expr ?? "") });
    }
  };
  visit(dashboard.panels);
  return out;
}

/** Every alert of a Prometheus rules file with its expression (`expr: |` blocks included). */
export function alertExprs(file: string): { alert: string; expr: string }[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const out: { alert: string; expr: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const alert = lines[i]!.match(/^\s*- alert:\s*(\S+)/)?.[1];
    if (!alert) continue;
    const at = lines.findIndex((l, j) => j > i && /^\s*expr:/.test(l));
    const first = lines[at]!.replace(/^\s*expr:\s*/, "");
    if (first !== "|" && first !== ">") {
      out.push({ alert, expr: first });
      continue;
    }
    const indent = lines[at + 1]!.match(/^\s*/)![0].length;
    const body: string[] = [];
    for (let j = at + 1; j < lines.length && (lines[j]!.trim() === "" || lines[j]!.search(/\S/) >= indent); j++)
      body.push(lines[j]!.trim());
    out.push({ alert, expr: body.join(" ").trim() });
  }
  return out;
}
