import { type Answer, api } from "../api.js";
import { $, show } from "../dom.js";
import { reportError } from "../errors.js";
import type { ViewState } from "../state.js";
import { oldest, showError, showFreshness } from "../status.js";
import { getState, setState } from "../store.js";
import { loadChart, wireChartBuilder } from "./chart-builder.js";
import { renderTableList } from "./list.js";
import { serverLimits, type TableMeta } from "./model.js";
import { loadTableView, showTableCard, wireTableView } from "./table-view.js";

/** The explore view: any projected table (an attached database needs no code), over /api/tables/*. */
let tables: TableMeta[] = [];
let listedAt = 0;
let inFlight: Promise<void> | undefined;
let again = false;

const tableOf = (s: ViewState) => tables.find((t) => t.name === s.table);

/**
 * Loads what the state shows. The table list costs a count per table: it is reloaded on `full`
 * (the refresh timer) while it is all there is to see, and at most every 30 s while a table is open.
 */
export function refreshExplore(full: boolean): Promise<void> {
  if (inFlight) {
    again = true; // the state changed while loading: load once more with the newest state
    return inFlight;
  }
  window.__explore.busy = true;
  inFlight = load(full)
    .catch(reportError)
    .finally(() => {
      inFlight = undefined;
      if (again) {
        again = false;
        void refreshExplore(false);
      } else window.__explore.busy = false;
    });
  return inFlight;
}

async function load(full: boolean): Promise<void> {
  const s = getState();
  const answers: Answer<unknown>[] = [];
  const age = Date.now() - listedAt;
  if (tables.length === 0 || age > 30_000 || (full && !tableOf(s))) {
    const list = await api<TableMeta[]>("/api/tables", { stats: "true" });
    tables = list.data;
    serverLimits.maxRows = (list as unknown as { maxRows: number }).maxRows;
    listedAt = Date.now();
    answers.push(list);
  }
  renderTableList(tables, s.table, (name) =>
    setState({ table: name, filters: [], order: "", after: "", chart: "", by: "", metric: "count" }),
  );
  const t = tableOf(s);
  showTableCard(t !== undefined);
  show($("chart-card"), t !== undefined);
  show($("explore-hint"), t === undefined);
  if (t) {
    answers.push(...(await loadTableView(t, s)));
    answers.push(...(await loadChart(t, s)));
  }
  if (answers.length) showFreshness(oldest(answers.map((a) => a.freshness)));
  showError(null);
  show($("login"), false);
  window.__explore.renders++;
  document.body.dataset.exploreRenders = String(window.__explore.renders);
}

export function wireExplore(): void {
  wireTableView(() => {
    const s = getState();
    return { s, t: tableOf(s) };
  });
  wireChartBuilder();
}
