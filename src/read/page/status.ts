import type { Freshness } from "./api.js";
import { $, show } from "./dom.js";

/** The header's freshness indicator and the page's error line, shared by both views. */

export function lagText(lag: number | null): string {
  return lag === null ? "no data yet" : lag < 1000 ? `${lag} ms behind` : `${(lag / 1000).toFixed(1)} s behind`;
}

export function lagState(lag: number | null): "unknown" | "ok" | "warn" | "bad" {
  return lag === null ? "unknown" : lag < 5_000 ? "ok" : lag < 60_000 ? "warn" : "bad";
}

/** The oldest of several answers' freshness: the honest one for everything on screen. */
export function oldest(all: Freshness[]): Freshness {
  return all.reduce((a, b) => ((a.lagMs ?? Infinity) >= (b.lagMs ?? Infinity) ? a : b));
}

export function showFreshness(f: Freshness): void {
  window.__dashboard.freshness = f;
  const box = $("freshness");
  box.dataset.state = lagState(f.lagMs);
  $("freshness-text").textContent = `projection ${lagText(f.lagMs)}${f.lsn ? ` · LSN ${f.lsn}` : ""}${
    f.commitTime ? ` · last commit ${new Date(f.commitTime).toLocaleTimeString()}` : ""
  }`;
  box.title = f.commitTime ? `last source commit included: ${f.commitTime}` : "no change projected yet";
}

export function showError(message: string | null): void {
  const el = $("error");
  el.textContent = message ?? "";
  show(el, message !== null);
  window.__dashboard.lastError = message;
}
