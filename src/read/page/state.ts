/**
 * The page's view state and its place in the URL's query string (shareable, survives a reload).
 * Only values that differ from the defaults are written, so the plain dashboard stays at `/`.
 * Filters use the read API's own form (`column:op:value`), so a URL reads like the API call
 * it makes. Pure code: the page and the unit tests share it.
 */
export const VIEWS = ["shop", "explore"] as const;
export const CHARTS = ["", "group", "time"] as const;
export const BUCKETS = ["hour", "day", "week", "month"] as const;
export const FNS = ["count", "sum", "avg", "min", "max"] as const;

export interface ViewState {
  view: (typeof VIEWS)[number];
  /** Shop view: range in days, bucket size, refresh interval in ms. */
  range: string;
  granularity: string;
  refresh: string;
  /** Explore view: the table shown, its filters, its order (`col:asc|desc`), the keyset cursor of the page. */
  table: string;
  filters: string[];
  order: string;
  after: string;
  /** Chart builder: none, grouped bars or a time series; `by` is the group or time column. */
  chart: (typeof CHARTS)[number];
  by: string;
  bucket: (typeof BUCKETS)[number];
  /** `count` or `fn:column`, as the read API's metrics parameter. */
  metric: string;
}

export const DEFAULT_STATE: Readonly<ViewState> = {
  view: "shop",
  range: "30",
  granularity: "day",
  refresh: "5000",
  table: "",
  filters: [],
  order: "",
  after: "",
  chart: "",
  by: "",
  bucket: "day",
  metric: "count",
};

const SCALARS = [
  "view",
  "range",
  "granularity",
  "refresh",
  "table",
  "order",
  "after",
  "chart",
  "by",
  "bucket",
  "metric",
] as const;

function oneOf<T extends string>(list: readonly T[], value: string | null, fallback: T): T {
  return value !== null && (list as readonly string[]).includes(value) ? (value as T) : fallback;
}

export function parseState(search: string): ViewState {
  const q = new URLSearchParams(search);
  const text = (k: string, d: string) => q.get(k) ?? d;
  return {
    view: oneOf(VIEWS, q.get("view"), DEFAULT_STATE.view),
    range: oneOf(["1", "7", "30", "90", "365"], q.get("range"), DEFAULT_STATE.range),
    granularity: oneOf(["hour", "day", "week"], q.get("granularity"), DEFAULT_STATE.granularity),
    refresh: oneOf(["0", "2000", "5000", "15000"], q.get("refresh"), DEFAULT_STATE.refresh),
    table: text("table", ""),
    filters: q.getAll("filter").filter((f) => f.length > 0),
    order: text("order", ""),
    after: text("after", ""),
    chart: oneOf(CHARTS, q.get("chart"), DEFAULT_STATE.chart),
    by: text("by", ""),
    bucket: oneOf(BUCKETS, q.get("bucket"), DEFAULT_STATE.bucket),
    metric: text("metric", DEFAULT_STATE.metric),
  };
}

/** `?view=explore&table=…` (empty when everything is default). */
export function formatState(s: ViewState): string {
  const q = new URLSearchParams();
  for (const k of SCALARS) {
    if (s[k] !== DEFAULT_STATE[k]) q.set(k, s[k]);
    if (k === "table") for (const f of s.filters) q.append("filter", f);
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** Column kinds the explore view needs from a ClickHouse type name. */
export type ColumnKind = "number" | "time" | "date" | "text" | "other";

export function columnKind(type: string): ColumnKind {
  const t = type
    .replace(/^(Nullable|LowCardinality)\((.*)\)$/, "$2")
    .replace(/^(Nullable|LowCardinality)\((.*)\)$/, "$2");
  if (/^(U?Int\d+|Float\d+|Decimal)/.test(t)) return "number";
  if (/^DateTime/.test(t)) return "time";
  if (/^Date(32)?$/.test(t)) return "date";
  if (/^(String|FixedString|UUID|Enum|Bool)/.test(t)) return "text";
  return "other";
}

export function isNullableType(type: string): boolean {
  return /^(LowCardinality\()?Nullable\(/.test(type);
}
