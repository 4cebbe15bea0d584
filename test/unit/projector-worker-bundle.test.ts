import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Worker } from "node:worker_threads";
import { describe, expect, test } from "vitest";
import { DecodeWorker } from "../../src/projector/decode-worker.js";
import { bundledWorker } from "../../src/projector/worker-bundle.js";
import { createLogger } from "../../src/shared/logger.js";

const entry = fileURLToPath(new URL("../../src/projector/decode-worker.ts", import.meta.url));

describe("the decode thread's bundle (worker-bundle.ts)", () => {
  test("one file per content, named by its hash, built once per process", async () => {
    const file = await bundledWorker(entry);
    expect(file).toMatch(/\/node_modules\/\.cache\/cqrs-sidecar\/decode-worker-[0-9a-f]{16}\.mjs$/);
    expect(await bundledWorker(entry)).toBe(file);
    // Its modules are inside: nothing left for a TypeScript loader to resolve.
    const code = readFileSync(file, "utf8");
    expect(code).toContain("// src/projector/batch-decode.ts");
    expect(code).not.toMatch(/from "\.\.?\//);
  });

  test("it loads in a plain node process, without tsx", async () => {
    const file = await bundledWorker(entry);
    const out = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(typeof m.DecodeWorker)`,
      ],
      { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } },
    );
    expect(out.trim()).toBe("function");
  });

  test("a decode thread that dies is replaced by the next batch", async () => {
    const worker = new DecodeWorker(createLogger("silent"));
    try {
      expect((await worker.decode([])).tables).toEqual([]);
      const thread = (worker as unknown as { worker: Worker }).worker;
      await thread.terminate();
      const again = await worker.decode([{ value: null, key: null, headers: {} }]);
      expect(again.opCounts).toEqual({ tombstone: 1 });
      expect((worker as unknown as { worker: Worker }).worker).not.toBe(thread);
    } finally {
      await worker.close();
    }
  });
});
