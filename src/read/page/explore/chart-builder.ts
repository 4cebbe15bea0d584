import { type Answer, api } from "../api.js";
import { draw } from "../charts.js";
import { $, options, show } from "../dom.js";
import { BUCKETS, columnKind, FNS, type ViewState } from "../state.js";
import { setState } from "../store.js";
import { serverLimits, type TableMeta } from "./model.js";
import { filterParams, tablePath } from "./table-view.js";

/**
 * The chart builder: group by a column with count/sum/avg/min/max of a numeric one (bars), or a
 * time series of a date/date-time column in hour/day/week/month buckets (buckets and empty
 * buckets computed by ClickHouse through /aggregate?groupBy=col:bucket). Uses the table view's filters.
 */
const MAX_GROUPS = 50;
const MAX_BUCKETS = 1000;

interface Aggregate {
  data: Record<string, unknown>[];
  truncated: boolean;
}

function metricKey(metric: string): string {
  return metric.replace(":", "_");
}

function label(v: unknown, bucket: string | undefined): string {
  if (v === null || v === undefined) return "(null)";
  const text = String(v);
  if (!bucket) return text;
  if (bucket === "hour") return text.slice(5, 16);
  return bucket === "month" ? text.slice(0, 7) : text.slice(0, 10);
}

/** Fills the selects from the table's columns and the state. */
function syncControls(t: TableMeta, s: ViewState): void {
  $<HTMLSelectElement>("chart-kind").value = s.chart;
  const byChoices = t.columns.filter((c) => {
    const kind = columnKind(c.type);
    return s.chart === "time" ? kind === "time" || kind === "date" : kind !== "other";
  });
  options(
    $<HTMLSelectElement>("chart-by"),
    byChoices.map((c) => ({ value: c.name, label: c.name })),
    s.by,
  );
  options(
    $<HTMLSelectElement>("chart-bucket"),
    BUCKETS.map((b) => ({ value: b, label: b })),
    s.bucket,
  );
  const [fn = "count", col = ""] = s.metric.split(":");
  options(
    $<HTMLSelectElement>("chart-fn"),
    FNS.map((f) => ({ value: f, label: f })),
    fn,
  );
  const numbers = t.columns.filter((c) => columnKind(c.type) === "number");
  options(
    $<HTMLSelectElement>("chart-col"),
    numbers.map((c) => ({ value: c.name, label: c.name })),
    col,
  );
  show($("chart-bucket-label"), s.chart === "time");
  show($("chart-col"), fn !== "count");
  for (const id of ["chart-by-label", "chart-metric-label", "chart-area"]) show($(id), s.chart !== "");
}

/** The state the controls describe now (a metric needs a column unless it is count). */
function fromControls(): Partial<ViewState> {
  const chart = $<HTMLSelectElement>("chart-kind").value as ViewState["chart"];
  const fn = $<HTMLSelectElement>("chart-fn").value;
  const col = $<HTMLSelectElement>("chart-col").value;
  return {
    chart,
    by: $<HTMLSelectElement>("chart-by").value,
    bucket: $<HTMLSelectElement>("chart-bucket").value as ViewState["bucket"],
    metric: fn === "count" || !col ? "count" : `${fn}:${col}`,
  };
}

export async function loadChart(t: TableMeta, s: ViewState): Promise<Answer<unknown>[]> {
  syncControls(t, s);
  const by = $<HTMLSelectElement>("chart-by").value;
  if (s.chart === "" || !by) {
    window.__explore.chart = null;
    return [];
  }
  const time = s.chart === "time";
  const params = filterParams(s, {
    metrics: s.metric,
    groupBy: time ? `${by}:${s.bucket}` : by,
    limit: String(Math.min(time ? MAX_BUCKETS : MAX_GROUPS, serverLimits.maxRows)),
  });
  // Bars show the biggest groups; a series runs along time (the order that fills empty buckets).
  if (time) params.delete("order");
  else params.set("order", `${metricKey(s.metric)}:desc`);
  const answer = await api<Aggregate["data"]>(tablePath(t.name, "/aggregate"), params);
  const { truncated } = answer as unknown as Aggregate;
  const key = metricKey(s.metric);
  const labels = answer.data.map((r) => label(r[by], time ? s.bucket : undefined));
  const values = answer.data.map((r) => (r[key] === null ? null : Number(r[key])));
  const title = `${s.metric.replace(":", " of ")} by ${by}${time ? ` (${s.bucket})` : ""}${truncated ? " — first rows only" : ""}`;
  $("chart-title").textContent = title;
  draw(
    "chart-explore",
    {
      type: time ? "line" : "bar",
      data: {
        labels,
        datasets: [
          { label: s.metric, data: values, backgroundColor: "#3867d6", borderColor: "#3867d6", pointRadius: 2 },
        ],
      },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
    },
    values.length,
  );
  window.__explore.chart = { kind: s.chart, labels, values, truncated };
  return [answer];
}

export function wireChartBuilder(): void {
  for (const id of ["chart-kind", "chart-by", "chart-bucket", "chart-fn", "chart-col"]) {
    $(id).addEventListener("change", () => {
      const patch = fromControls();
      // Another kind of chart wants another kind of column: let syncControls pick the first that fits.
      if (id === "chart-kind") patch.by = "";
      setState(patch);
    });
  }
}
