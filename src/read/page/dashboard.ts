import { type Freshness, TOKEN_KEY, takeTokenFromFragment } from "./api.js";
import { $, show } from "./dom.js";
import { refreshExplore, wireExplore } from "./explore/index.js";
import { refreshShop } from "./shop.js";
import type { ViewState } from "./state.js";
import { getState, onStateChange, setState } from "./store.js";

/**
 * The page's script (browser; bundled by esbuild with chart.js, served at /assets/dashboard.js
 * with its stylesheet at /assets/dashboard.css; nothing inline, so a strict CSP holds). Two views:
 * the demo shop's dashboard (default) and the explore view of any projected table. The view's
 * state lives in the URL's query string (state.ts); the token in the fragment (api.ts).
 */
declare global {
  interface Window {
    __dashboard: {
      renders: number;
      lastError: string | null;
      points: Record<string, number>;
      freshness: Freshness | null;
    };
  }
}
window.__dashboard = { renders: 0, lastError: null, points: {}, freshness: null };

function refresh(full: boolean): void {
  if (getState().view === "explore") void refreshExplore(full);
  else void refreshShop();
}

let timer: number | undefined;
function schedule(ms: number): void {
  if (timer !== undefined) clearInterval(timer);
  timer = ms > 0 ? window.setInterval(() => refresh(true), ms) : undefined;
}

/** Shows the state's view with its controls set from the state. */
function render(s: ViewState): void {
  show($("view-shop"), s.view === "shop");
  show($("view-explore"), s.view === "explore");
  show($("shop-controls"), s.view === "shop");
  for (const v of ["shop", "explore"]) $(`nav-${v}`).classList.toggle("active", s.view === v);
  $<HTMLSelectElement>("range").value = s.range;
  $<HTMLSelectElement>("granularity").value = s.granularity;
  $<HTMLSelectElement>("refresh").value = s.refresh;
  schedule(Number(s.refresh));
  refresh(false);
}

takeTokenFromFragment();
$("save-token").addEventListener("click", () => {
  sessionStorage.setItem(TOKEN_KEY, $<HTMLInputElement>("token").value.trim());
  $<HTMLInputElement>("token").value = "";
  refresh(true);
});
$("logout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  refresh(true);
});
for (const v of ["shop", "explore"] as const) {
  $(`nav-${v}`).addEventListener("click", (e) => {
    e.preventDefault();
    setState({ view: v });
  });
}
for (const id of ["range", "granularity", "refresh"] as const) {
  $(id).addEventListener("change", () => setState({ [id]: $<HTMLSelectElement>(id).value }, { replace: true }));
}
$("threshold").addEventListener("change", () => refresh(false));
wireExplore();
onStateChange(render);
render(getState());
