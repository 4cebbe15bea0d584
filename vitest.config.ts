import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file in its own process: an embedded ClickHouse (chDB) belongs to one process.
    pool: "forks",
    // The integration files share one real stack on a 2-core machine: run them one at a time.
    fileParallelism: false,
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
  },
});
