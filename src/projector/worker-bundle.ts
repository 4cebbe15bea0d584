import { createHash, randomBytes } from "node:crypto";
import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A worker thread's TypeScript module as one plain ES module file, so the thread starts without
 * tsx. Loading the decode worker's ~40 modules through tsx's loader hooks took ~500 ms of CPU
 * per thread (a hooks thread of its own, a round trip per import); the bundle starts in ~100 ms,
 * and esbuild builds it once per process (~150 ms).
 *
 * The file is named by its content's hash, in node_modules/.cache (where build tools keep
 * theirs), and written by rename, so processes starting together share it and a changed source
 * never runs stale. Not a data: URL: a stack trace would repeat the whole module in every frame.
 */
const built = new Map<string, Promise<string>>();

const CACHE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../node_modules/.cache/cqrs-sidecar");

/** The path of `entry` (a .ts file) bundled with everything it imports. */
export function bundledWorker(entry: string): Promise<string> {
  let file = built.get(entry);
  if (!file) {
    file = bundle(entry);
    built.set(entry, file);
    file.catch(() => built.delete(entry)); // the next thread start tries again
  }
  return file;
}

async function bundle(entry: string): Promise<string> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node20",
    external: ["esbuild"], // worker-bundle.ts itself comes along, but never runs in the thread
    // Not minified: a worker's error stack is logged, and should name functions and lines one can read.
    logLevel: "silent",
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no output for ${entry}`);
  const hash = createHash("sha256").update(out.contents).digest("hex").slice(0, 16);
  const name = `${entry.replace(/^.*\//, "").replace(/\.ts$/, "")}-${hash}.mjs`;
  // A read-only checkout: the system's temporary directory instead.
  return (
    (await saveOnce(CACHE_DIR, name, out.contents).catch(() => undefined)) ?? saveOnce(tmpdir(), name, out.contents)
  );
}

async function saveOnce(dir: string, name: string, contents: Uint8Array): Promise<string> {
  const path = join(dir, name);
  if (await stat(path).catch(() => undefined)) return path;
  await mkdir(dir, { recursive: true });
  // Random, not the pid: vitest runs test files as threads of one process.
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, path);
  return path;
}
