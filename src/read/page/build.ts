import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { BUNDLE_ENTRY, buildDashboardBundle } from "./serve.js";

/** Writes the dashboard bundle (and copies its stylesheet) for a compiled deployment: `tsx src/read/page/build.ts [outDir]` (default dist/read-page). */
const outDir = resolve(process.argv[2] ?? "dist/read-page");
await mkdir(outDir, { recursive: true });
const js = await buildDashboardBundle();
await writeFile(resolve(outDir, "dashboard.js"), js);
console.log(`dashboard bundle: ${resolve(outDir, "dashboard.js")} (${js.length} bytes)`);
await copyFile(resolve(BUNDLE_ENTRY, "../dashboard.css"), resolve(outDir, "dashboard.css"));
