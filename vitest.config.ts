import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Each file in its own process: an embedded ClickHouse (chDB) belongs to one process.
    pool: "forks",
    // The integration files share one real stack on a 2-core machine: run them one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    // Unit tests first; only a run that selects an integration or e2e file brings up the real
    // stack (a project's global setup runs only when one of its files is selected), so
    // `vitest run test/unit/x.test.ts` needs no stack and touches none.
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"], sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: {
          name: "stack",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
