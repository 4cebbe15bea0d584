import { type Answer, api, downloadCsv } from "../api.js";
import { $, h, options, show } from "../dom.js";
import { reportError } from "../errors.js";
import type { ViewState } from "../state.js";
import { columnKind, isNullableType } from "../state.js";
import { setState } from "../store.js";
import type { TableMeta } from "./model.js";

/** The table view: columns with types, filters, sort by header click, keyset pages, CSV of the current filter. */
export const PAGE_SIZE = 50;
const OPS = ["eq", "ne", "lt", "lte", "gt", "gte", "in", "null", "notnull"] as const;
const PLACEHOLDER = {
  number: "e.g. 42",
  time: "e.g. 2024-05-01T00:00:00Z",
  date: "e.g. 2024-05-01",
  text: "value",
  other: "",
};

/** Cursors of the pages before this one (keyset paging has no way back but the way we came). */
let previous: string[] = [];

export function tablePath(table: string, what = ""): string {
  return `/api/tables/${encodeURIComponent(table)}${what}`;
}

export function filterParams(s: ViewState, extra: Record<string, string> = {}): URLSearchParams {
  const p = new URLSearchParams(extra);
  for (const f of s.filters) p.append("filter", f);
  if (s.order) p.set("order", s.order);
  return p;
}

/** Loads the page of rows and the match count; returns their answers (for the freshness indicator). */
export async function loadTableView(t: TableMeta, s: ViewState): Promise<Answer<unknown>[]> {
  const rowsParams = filterParams(s, { limit: String(PAGE_SIZE) });
  if (s.after) rowsParams.set("after", s.after);
  const countParams = filterParams(s);
  countParams.delete("order");
  const [rows, count] = await Promise.all([
    api<Record<string, unknown>[]>(tablePath(t.name, "/rows"), rowsParams),
    api<{ count: number }>(tablePath(t.name, "/count"), countParams),
  ]);
  const next = (rows as unknown as { nextCursor: string | null }).nextCursor;
  renderHeader(t, s, count.data.count);
  renderRows(t, s, rows.data);
  renderPager(s, rows.data.length, next);
  window.__explore.table = {
    name: t.name,
    columns: t.columns.map((c) => c.name),
    rows: rows.data,
    count: count.data.count,
  };
  return [rows, count];
}

function renderHeader(t: TableMeta, s: ViewState, count: number): void {
  $("table-title").textContent = t.name;
  $("table-count").textContent = `${count.toLocaleString("en-US")} rows${s.filters.length ? " match" : ""}`;
  const column = $<HTMLSelectElement>("filter-column");
  const keep = column.value;
  options(
    column,
    t.columns.map((c) => ({ value: c.name, label: `${c.name} (${c.type})` })),
    keep || t.columns[0]?.name || "",
  );
  syncOps(t);
  const chips = s.filters.map((f, i) => {
    const x = h(
      "button",
      { type: "button", class: "chip-x", title: "remove this filter", "aria-label": `remove ${f}` },
      "×",
    );
    x.addEventListener("click", () => setState({ filters: s.filters.filter((_, j) => j !== i), after: "" }));
    return h("span", { class: "chip" }, f.replace(/^([^:]*):([^:]*):?/, "$1 $2 "), x);
  });
  $("filter-chips").replaceChildren(...chips);
}

/** The operators and placeholder fit the column picked (null/notnull only for Nullable columns). */
function syncOps(t: TableMeta): void {
  const col = t.columns.find((c) => c.name === $<HTMLSelectElement>("filter-column").value);
  if (!col) return;
  const op = $<HTMLSelectElement>("filter-op");
  const ops = OPS.filter((o) => isNullableType(col.type) || (o !== "null" && o !== "notnull"));
  options(
    op,
    ops.map((o) => ({ value: o, label: o })),
    op.value || "eq",
  );
  const value = $<HTMLInputElement>("filter-value");
  value.placeholder = op.value === "in" ? "a,b,c" : PLACEHOLDER[columnKind(col.type)];
  value.disabled = op.value === "null" || op.value === "notnull";
}

function sortButton(name: string, type: string, s: ViewState): HTMLElement {
  const [col, dir] = s.order.split(":");
  const active = col === name;
  const arrow = active ? (dir === "desc" ? " ▼" : " ▲") : "";
  const b = h(
    "button",
    { type: "button", class: "sort", "data-column": name, title: "sort by this column" },
    `${name}${arrow}`,
  );
  // Click cycles: ascending → descending → the table's own order.
  const next = !active ? `${name}:asc` : dir === "desc" ? "" : `${name}:desc`;
  b.addEventListener("click", () => setState({ order: next, after: "" }, {}));
  return h("th", {}, b, h("small", { class: "type" }, type));
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "∅";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function renderRows(t: TableMeta, s: ViewState, rows: Record<string, unknown>[]): void {
  const head = h("tr", {}, ...t.columns.map((c) => sortButton(c.name, c.type, s)));
  const body = rows.map((r) =>
    h(
      "tr",
      {},
      ...t.columns.map((c) => {
        const v = r[c.name];
        const kind = columnKind(c.type);
        return h("td", { class: `${kind === "number" ? "num" : ""}${v === null ? " null" : ""}` }, cell(v));
      }),
    ),
  );
  if (rows.length === 0)
    body.push(h("tr", {}, h("td", { colspan: String(t.columns.length), class: "empty" }, "no rows")));
  $("rows").replaceChildren(h("thead", {}, head), h("tbody", {}, ...body));
}

function renderPager(s: ViewState, shown: number, next: string | null): void {
  if (!s.after) previous = [];
  const first = previous.length * PAGE_SIZE + 1;
  // A reloaded URL carries a page's cursor but not how many pages came before it.
  const unknownStart = s.after !== "" && previous.length === 0;
  $("page-info").textContent = !shown ? "" : unknownStart ? `${shown} rows` : `rows ${first}–${first + shown - 1}`;
  $<HTMLButtonElement>("page-first").disabled = !s.after;
  $<HTMLButtonElement>("page-prev").disabled = !s.after;
  const nextButton = $<HTMLButtonElement>("page-next");
  nextButton.disabled = next === null;
  nextButton.dataset.cursor = next ?? "";
}

/** Wires the controls once; they read the current state through `current()` when used. */
export function wireTableView(current: () => { s: ViewState; t: TableMeta | undefined }): void {
  $("filter-column").addEventListener("change", () => {
    const { t } = current();
    if (t) syncOps(t);
  });
  $("filter-op").addEventListener("change", () => {
    const { t } = current();
    if (t) syncOps(t);
  });
  $("filter-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const { s } = current();
    const op = $<HTMLSelectElement>("filter-op").value;
    const value = $<HTMLInputElement>("filter-value").value;
    const f = `${$<HTMLSelectElement>("filter-column").value}:${op}${op === "null" || op === "notnull" ? "" : `:${value}`}`;
    $<HTMLInputElement>("filter-value").value = "";
    setState({ filters: [...s.filters, f], after: "" });
  });
  $("page-next").addEventListener("click", () => {
    const { s } = current();
    const cursor = $("page-next").dataset.cursor;
    if (!cursor) return;
    previous.push(s.after);
    setState({ after: cursor });
  });
  $("page-prev").addEventListener("click", () => setState({ after: previous.pop() ?? "" }));
  $("page-first").addEventListener("click", () => {
    previous = [];
    setState({ after: "" });
  });
  $("csv").addEventListener("click", () => {
    const { s, t } = current();
    if (!t) return;
    downloadCsv(tablePath(t.name, "/csv"), filterParams(s), `${t.name}.csv`).then((r) => {
      window.__explore.csv = r;
      $("csv-note").textContent = r.truncated
        ? `the file stops at ${r.cap.toLocaleString("en-US")} rows (READ_MAX_ROWS)`
        : "";
    }, reportError);
  });
}

export function showTableCard(visible: boolean): void {
  show($("table-card"), visible);
}
