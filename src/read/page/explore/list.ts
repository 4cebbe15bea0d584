import { h } from "../dom.js";
import { lagText } from "../status.js";
import { degradedReason, healthOf, type TableMeta } from "./model.js";

/** The list of projected tables: rows, lag, LSN, health; a click opens the table. */
export function renderTableList(tables: TableMeta[], selected: string, open: (name: string) => void): void {
  const body = tables.map((t) => {
    const health = healthOf(t);
    const link = h("button", { type: "button", class: "link", "data-table": t.name }, t.name);
    link.addEventListener("click", () => open(t.name));
    return h(
      "tr",
      { class: t.name === selected ? "selected" : undefined },
      h("td", {}, link),
      h("td", { class: "num" }, t.rows === undefined || t.rows === null ? "–" : t.rows.toLocaleString("en-US")),
      h(
        "td",
        { class: "num", title: t.freshness?.commitTime ?? undefined },
        t.freshness ? lagText(t.freshness.lagMs).replace(" behind", "") : "–",
      ),
      h("td", { class: "mono" }, t.freshness?.lsn ?? "–"),
      h("td", {}, h("span", { class: `badge ${health}`, title: degradedReason(t) }, health)),
    );
  });
  const head = h("tr", {}, ...["table", "rows", "lag", "LSN", "state"].map((c) => h("th", {}, c)));
  document.getElementById("tables-list")?.replaceChildren(h("thead", {}, head), h("tbody", {}, ...body));
  window.__explore.tables = tables.map((t) => ({ name: t.name, rows: t.rows ?? null, health: healthOf(t) }));
}
