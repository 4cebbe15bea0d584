import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The dashboard page: one HTML document and one script (src/read/page/dashboard.ts with
 * chart.js) bundled by esbuild — served by the read API itself, no CDN.
 *
 * From sources (tsx) the bundle is built in memory on first request; a compiled deployment
 * can ship a prebuilt bundle (`tsx src/read/page/build.ts` → dist/read-page/dashboard.js),
 * used when present next to the compiled code.
 */
const here = dirname(fileURLToPath(import.meta.url));

export const BUNDLE_ENTRY = resolve(here, existsSync(resolve(here, "dashboard.ts")) ? "dashboard.ts" : "dashboard.js");

export async function buildDashboardBundle(): Promise<string> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [BUNDLE_ENTRY],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2020",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error("esbuild produced no output for the dashboard bundle");
  return out.text;
}

let bundle: Promise<string> | undefined;

export function dashboardAsset(): Promise<string> {
  bundle ??= (async () => {
    const prebuilt = resolve(here, "../../read-page/dashboard.js");
    if (!BUNDLE_ENTRY.endsWith(".ts") && existsSync(prebuilt)) return readFile(prebuilt, "utf8");
    return buildDashboardBundle();
  })().catch((err: unknown) => {
    bundle = undefined;
    throw err;
  });
  return bundle;
}

let stylesheet: Promise<string> | undefined;

/** The page's stylesheet (a file, not inline: the page's CSP allows only its own origin's styles). */
export function dashboardStylesheet(): Promise<string> {
  // Beside this file in sources; in a compiled deployment where build.ts put it (dist/read-page).
  const file = existsSync(resolve(here, "dashboard.css"))
    ? resolve(here, "dashboard.css")
    : resolve(here, "../../read-page/dashboard.css");
  stylesheet ??= readFile(file, "utf8").catch((err: unknown) => {
    stylesheet = undefined;
    throw err;
  });
  return stylesheet;
}

export function dashboardHtml(): string {
  return HTML;
}

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cqrs-sidecar dashboard</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body>
<header>
  <h1>cqrs-sidecar · shop dashboard</h1>
  <label>Range <select id="range">
    <option value="1">24 hours</option><option value="7">7 days</option><option value="30" selected>30 days</option>
    <option value="90">90 days</option><option value="365">365 days</option></select></label>
  <label>Buckets <select id="granularity"><option value="hour">hour</option><option value="day" selected>day</option><option value="week">week</option></select></label>
  <label>Refresh <select id="refresh"><option value="0">off</option><option value="2000">2 s</option><option value="5000" selected>5 s</option><option value="15000">15 s</option></select></label>
  <span id="login"><label for="token">Read API token</label><input id="token" type="password" autocomplete="off" size="18"><button id="save-token" type="button">Use</button></span>
  <button id="logout" type="button" title="Forget the token stored in this tab">Forget token</button>
  <div id="freshness" data-state="unknown" title="How fresh the projection is"><span class="dot"></span><span id="freshness-text">freshness: …</span></div>
</header>
<div id="error" role="alert"></div>
<main>
  <section class="card wide"><h2>Totals</h2>
    <div class="kpis">
      <div class="kpi"><b id="kpi-revenue">–</b><span>revenue</span></div>
      <div class="kpi"><b id="kpi-orders">–</b><span>orders</span></div>
      <div class="kpi"><b id="kpi-aov">–</b><span>average order value</span></div>
    </div>
  </section>
  <section class="card wide"><h2>Revenue and orders over time</h2><div class="chart"><canvas id="chart-revenue"></canvas></div></section>
  <section class="card"><h2>Orders by status</h2><div class="chart"><canvas id="chart-status"></canvas></div></section>
  <section class="card"><h2>New vs returning customers</h2><div class="chart"><canvas id="chart-customers"></canvas></div></section>
  <section class="card"><h2>Top products by revenue</h2><div class="chart"><canvas id="chart-top-revenue"></canvas></div></section>
  <section class="card"><h2>Top products by units</h2><div class="chart"><canvas id="chart-top-units"></canvas></div></section>
  <section class="card wide"><h2>Stock below <input id="threshold" type="number" min="0" value="10"></h2><div class="chart"><canvas id="chart-stock"></canvas></div></section>
</main>
<script src="/assets/dashboard.js"></script>
</body>
</html>
`;
