/**
 * Dashboard reads: each dashboard endpoint timed through the read API over HTTP (ClickHouse,
 * embedded chDB, FINAL) against the same aggregate as plain SQL on Postgres, in the same run,
 * over the same data: 5,000,000 order lines (1,000,000 orders, 100,000 customers, 2,000
 * products over 2024), bulk-loaded into both stores with the same integer formulas (a Postgres
 * schema `bench_read` the demo connector does not capture; a ClickHouse database shaped
 * exactly like the projector's tables). Loading is skipped when both already hold the data.
 *
 *   npx tsx bench/read.ts [--lines 5000000] [--requests 200] [--pg-runs 5]
 *
 * Prints a table and writes bench/results/read.json. Targets: every endpoint ≥ 20× faster than
 * its Postgres query, and p99 < 100 ms through HTTP.
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { Registry } from "prom-client";
import { openClickHouse } from "../src/clickhouse/client.js";
import { startReadApi } from "../src/read/app.js";
import { memoryFreshness } from "../src/read/freshness.js";
import { loadConfig } from "../src/shared/config.js";
import { createLogger } from "../src/shared/logger.js";
import { DB, dashboardData, FROM, PRODUCTS, TABLES, TO } from "./dashboard-data.js";

const { values: args } = parseArgs({
  options: {
    lines: { type: "string", default: "5000000" },
    requests: { type: "string", default: "200" },
    "pg-runs": { type: "string", default: "5" },
    chdb: { type: "string", default: ".stack/bench-read-chdb" },
  },
});
const LINES = Number(args.lines);
const { ORDERS, CUSTOMERS } = {
  ORDERS: Math.floor(LINES / 5),
  CUSTOMERS: Math.max(1, Math.floor(Math.floor(LINES / 5) / 10)),
};
const REQUESTS = Number(args.requests);
const PG_RUNS = Number(args["pg-runs"]);
const TOKEN = "bench-read-token";

const log = createLogger("warn");
const config = loadConfig({ ...process.env, READ_API_TOKEN: TOKEN, CLICKHOUSE_DATABASE: DB, LOG_LEVEL: "warn" });
// Not createPgPool: its 10 s statement / 15 s query timeouts are right for the write API, but
// loading 5M rows and the Postgres side of this comparison may take longer.
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 1, application_name: "bench-read" });
const ch = await openClickHouse(`chdb:${resolve(args.chdb)}`);

const { loadPostgres, loadClickHouse, CASES, range } = dashboardData(LINES, pool, ch);

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
const round = (n: number) => Math.round(n * 100) / 100;

await loadPostgres();
await loadClickHouse();
const loadAtStart = os.loadavg();

const api = await startReadApi(config, {
  clickhouse: ch,
  freshness: memoryFreshness(() => ({ lsn: 1n, commitTime: new Date(), updatedAt: new Date() })),
  domainTables: TABLES,
  log,
  registry: new Registry(),
  port: 0,
  hostname: "127.0.0.1",
});

const results = [];
for (const c of CASES) {
  const url = `${api.url}${c.path}`;
  const call = async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (res.status !== 200) throw new Error(`${c.path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  for (let i = 0; i < 5; i++) await call();
  const http: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    await call();
    http.push(performance.now() - t0);
  }
  await pool.query(c.sql, c.params); // warm the cache once
  const pg: number[] = [];
  for (let i = 0; i < PG_RUNS; i++) {
    const t0 = performance.now();
    await pool.query(c.sql, c.params);
    pg.push(performance.now() - t0);
  }
  http.sort((a, b) => a - b);
  pg.sort((a, b) => a - b);
  const row = {
    endpoint: c.name,
    path: c.path,
    http_requests: REQUESTS,
    http_p50_ms: round(pct(http, 50)),
    http_p99_ms: round(pct(http, 99)),
    postgres_runs: PG_RUNS,
    postgres_p50_ms: round(pct(pg, 50)),
    ratio_p50: round(pct(pg, 50) / pct(http, 50)),
    meets_20x: pct(pg, 50) / pct(http, 50) >= 20,
    meets_p99_100ms: pct(http, 99) < 100,
  };
  results.push(row);
  console.log(
    `${c.name.padEnd(26)} http p50 ${String(row.http_p50_ms).padStart(8)} ms  p99 ${String(row.http_p99_ms).padStart(8)} ms   postgres p50 ${String(row.postgres_p50_ms).padStart(9)} ms   ×${row.ratio_p50}`,
  );
}

// Same data, same answer: one cross-check of the numbers.
const aov = (await (
  await fetch(`${api.url}/api/dashboard/average-order-value?${range}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  })
).json()) as {
  data: { orders: number; revenue: number };
};
const pgAov = (await pool.query<{ orders: string; revenue: string }>(CASES[5]?.sql ?? "", CASES[5]?.params)).rows[0];
const sameNumbers =
  aov.data.orders === Number(pgAov?.orders) && aov.data.revenue === Math.round(Number(pgAov?.revenue) * 100) / 100;

const out = {
  benchmark: "read/dashboard",
  at: new Date().toISOString(),
  order_lines: LINES,
  orders: ORDERS,
  customers: CUSTOMERS,
  products: PRODUCTS,
  range: { from: FROM, to: TO },
  clickhouse: "embedded chDB through the read API over HTTP (FINAL, _deleted = 0)",
  cpus: os.cpus().length,
  // Other processes share this machine (tests of other roles, the stack): load average at start and end.
  load_average: { start: loadAtStart.map(round), end: os.loadavg().map(round) },
  node: process.version,
  same_numbers_as_postgres: sameNumbers,
  all_meet_20x: results.every((r) => r.meets_20x),
  all_meet_p99_100ms: results.every((r) => r.meets_p99_100ms),
  results,
};
await mkdir("bench/results", { recursive: true });
await writeFile("bench/results/read.json", `${JSON.stringify(out, null, 2)}\n`);
console.log(
  `same numbers as Postgres: ${sameNumbers}; all ≥ 20×: ${out.all_meet_20x}; all p99 < 100 ms: ${out.all_meet_p99_100ms}`,
);
console.log("written: bench/results/read.json");
await api.close();
await ch.close();
await pool.end();
