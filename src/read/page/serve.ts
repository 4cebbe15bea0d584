import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PAGE_HTML } from "./html.js";

/**
 * The page (shop dashboard and explore view): one HTML document (html.ts), one script
 * (src/read/page/dashboard.ts and its modules, with chart.js) bundled by esbuild, and one
 * stylesheet (dashboard.css) — served by the read API itself, no CDN, nothing inline.
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
  return PAGE_HTML;
}
