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
import { openClickHouse, queryRows } from "../src/clickhouse/client.js";
import { startReadApi } from "../src/read/app.js";
import type { DomainTables } from "../src/read/dashboard.js";
import { memoryFreshness } from "../src/read/freshness.js";
import { loadConfig } from "../src/shared/config.js";
import { createLogger } from "../src/shared/logger.js";

const { values: args } = parseArgs({
  options: {
    lines: { type: "string", default: "5000000" },
    requests: { type: "string", default: "200" },
    "pg-runs": { type: "string", default: "5" },
    chdb: { type: "string", default: ".stack/bench-read-chdb" },
  },
});
const LINES = Number(args.lines);
const ORDERS = Math.floor(LINES / 5);
const CUSTOMERS = Math.max(1, Math.floor(ORDERS / 10));
const PRODUCTS = 2000;
const REQUESTS = Number(args.requests);
const PG_RUNS = Number(args["pg-runs"]);
const DB = "bench_read";
const TOKEN = "bench-read-token";
const TABLES: DomainTables = {
  customers: "bench__customers",
  products: "bench__products",
  orders: "bench__orders",
  orderLines: "bench__order_lines",
};
const FROM = "2024-01-01T00:00:00Z";
const TO = "2025-01-01T00:00:00Z";
const STATUSES = ["placed", "paid", "shipped"];

const log = createLogger("warn");
const config = loadConfig({ ...process.env, READ_API_TOKEN: TOKEN, CLICKHOUSE_DATABASE: DB, LOG_LEVEL: "warn" });
// Not createPgPool: its 10 s statement / 15 s query timeouts are right for the write API, but
// loading 5M rows and the Postgres side of this comparison may take longer.
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 1, application_name: "bench-read" });
const ch = await openClickHouse(`chdb:${resolve(args.chdb)}`);

// --- data: the same integer formulas in both stores ------------------------------------
const PG_UUID = (kind: number, expr: string) =>
  `('00000000-0000-4000-8${kind}00-' || lpad((${expr})::text, 12, '0'))::uuid`;
const CH_UUID = (kind: number, expr: string) =>
  `toUUID(concat('00000000-0000-4000-8${kind}00-', leftPad(toString(${expr}), 12, '0')))`;
const STATUS_PG = (o: string) =>
  `(ARRAY['placed','paid','paid','shipped','shipped','shipped','cancelled']::shop.order_status[])[(${o}) % 7 + 1]`;
const STATUS_CH = (o: string) => `['placed','paid','paid','shipped','shipped','shipped','cancelled'][(${o}) % 7 + 1]`;

async function loadPostgres(): Promise<void> {
  const have = await pool.query<{ n: string }>("SELECT count(*) AS n FROM bench_read.order_lines").then(
    (r) => Number(r.rows[0]?.n),
    () => -1,
  );
  if (have === LINES) return;
  console.log(`postgres: loading ${LINES} order lines into schema bench_read …`);
  const t0 = Date.now();
  await pool.query("DROP SCHEMA IF EXISTS bench_read CASCADE");
  await pool.query("CREATE SCHEMA bench_read");
  for (const t of ["customers", "products", "orders", "order_lines"]) {
    await pool.query(`CREATE TABLE bench_read.${t} (LIKE shop.${t} INCLUDING DEFAULTS)`);
  }
  await pool.query(`INSERT INTO bench_read.customers (id, email, name, created_at, updated_at, version)
    SELECT ${PG_UUID(3, "c")}, 'c' || c || '@bench', 'Customer ' || c, timestamptz '2023-06-01 00:00:00+00', timestamptz '2023-06-01 00:00:00+00', 1
    FROM generate_series(0::bigint, ${CUSTOMERS - 1}) c`);
  await pool.query(`INSERT INTO bench_read.products (id, sku, name, price, stock, created_at, updated_at, version)
    SELECT ${PG_UUID(1, "p")}, 'SKU-' || p, 'Product ' || p, ((p * 37) % 10000) / 100.0 + 1, p % 50, timestamptz '2023-06-01 00:00:00+00', timestamptz '2023-06-01 00:00:00+00', 1
    FROM generate_series(0::bigint, ${PRODUCTS - 1}) p`);
  await pool.query(`INSERT INTO bench_read.orders (id, customer_id, status, total, placed_at, updated_at, version)
    SELECT ${PG_UUID(2, "o")}, ${PG_UUID(3, `(o * 7919) % ${CUSTOMERS}`)}, ${STATUS_PG("o")}, ((o * 137) % 50000) / 100.0 + 5,
           timestamptz '2024-01-01 00:00:00+00' + ((o * 31) % 31536000) * interval '1 second', timestamptz '2024-01-01 00:00:00+00', 1
    FROM generate_series(0::bigint, ${ORDERS - 1}) o`);
  await pool.query(`INSERT INTO bench_read.order_lines (order_id, line_no, product_id, quantity, unit_price)
    SELECT ${PG_UUID(2, "n / 5")}, n % 5 + 1, ${PG_UUID(1, `(n * 7 + (n / 5) * 13) % ${PRODUCTS}`)}, n % 4 + 1,
           ((((n * 7 + (n / 5) * 13) % ${PRODUCTS}) * 37) % 10000) / 100.0 + 1
    FROM generate_series(0::bigint, ${LINES - 1}) n`);
  // The indexes a Postgres dashboard would have.
  await pool.query("ALTER TABLE bench_read.customers ADD PRIMARY KEY (id)");
  await pool.query("ALTER TABLE bench_read.products ADD PRIMARY KEY (id)");
  await pool.query("ALTER TABLE bench_read.orders ADD PRIMARY KEY (id)");
  await pool.query("ALTER TABLE bench_read.order_lines ADD PRIMARY KEY (order_id, line_no)");
  await pool.query("CREATE INDEX ON bench_read.orders (placed_at)");
  await pool.query("CREATE INDEX ON bench_read.orders (customer_id, placed_at)");
  await pool.query("CREATE INDEX ON bench_read.products (stock)");
  await pool.query(
    "VACUUM ANALYZE bench_read.customers, bench_read.products, bench_read.orders, bench_read.order_lines",
  );
  console.log(`postgres: loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

const META = "`_version` UInt64, `_deleted` UInt8, `_commit_ts` DateTime64(6, 'UTC'), `_lsn` UInt64";
const META_VALUES = "1, 0, toDateTime64('2024-01-01 00:00:00', 6, 'UTC'), 1";

async function loadClickHouse(): Promise<void> {
  const have = await queryRows<{ n: string }>(ch, `SELECT count() AS n FROM ${DB}.${TABLES.orderLines}`).then(
    (r) => Number(r[0]?.n),
    () => -1,
  );
  if (have === LINES) return;
  console.log(`clickhouse: loading ${LINES} order lines …`);
  const t0 = Date.now();
  await ch.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
  await ch.command({ query: `CREATE DATABASE ${DB}` });
  const engine = "ENGINE = ReplacingMergeTree(_version, _deleted)";
  const ts = "toDateTime64('2023-06-01 00:00:00', 6, 'UTC')";
  await ch.command({
    query: `CREATE TABLE ${DB}.${TABLES.customers} (id UUID, email String, name String, created_at DateTime64(6, 'UTC'), updated_at DateTime64(6, 'UTC'), version Int32, ${META}) ${engine} ORDER BY (id)`,
  });
  await ch.command({
    query: `INSERT INTO ${DB}.${TABLES.customers} SELECT ${CH_UUID(3, "number")}, concat('c', toString(number), '@bench'), concat('Customer ', toString(number)), ${ts}, ${ts}, 1, ${META_VALUES} FROM numbers(${CUSTOMERS})`,
  });
  await ch.command({
    query: `CREATE TABLE ${DB}.${TABLES.products} (id UUID, sku String, name String, price Decimal(12, 2), stock Int32, created_at DateTime64(6, 'UTC'), updated_at DateTime64(6, 'UTC'), version Int32, ${META}) ${engine} ORDER BY (id)`,
  });
  await ch.command({
    query: `INSERT INTO ${DB}.${TABLES.products} SELECT ${CH_UUID(1, "number")}, concat('SKU-', toString(number)), concat('Product ', toString(number)),
      toDecimal64((number * 37) % 10000, 2) / 100 + 1, number % 50, ${ts}, ${ts}, 1, ${META_VALUES} FROM numbers(${PRODUCTS})`,
  });
  await ch.command({
    query: `CREATE TABLE ${DB}.${TABLES.orders} (id UUID, customer_id UUID, status LowCardinality(String), total Decimal(14, 2), placed_at DateTime64(6, 'UTC'), updated_at DateTime64(6, 'UTC'), version Int32, ${META}) ${engine} ORDER BY (id)`,
  });
  await ch.command({
    query: `INSERT INTO ${DB}.${TABLES.orders} SELECT ${CH_UUID(2, "number")}, ${CH_UUID(3, `(number * 7919) % ${CUSTOMERS}`)}, ${STATUS_CH("number")},
      toDecimal64((number * 137) % 50000, 2) / 100 + 5, toDateTime64('2024-01-01 00:00:00', 6, 'UTC') + toIntervalSecond((number * 31) % 31536000),
      toDateTime64('2024-01-01 00:00:00', 6, 'UTC'), 1, ${META_VALUES} FROM numbers(${ORDERS})`,
  });
  await ch.command({
    query: `CREATE TABLE ${DB}.${TABLES.orderLines} (order_id UUID, line_no Int32, product_id UUID, quantity Int32, unit_price Decimal(12, 2), ${META}) ${engine} ORDER BY (order_id, line_no)`,
  });
  await ch.command({
    query: `INSERT INTO ${DB}.${TABLES.orderLines} SELECT ${CH_UUID(2, "intDiv(number, 5)")}, number % 5 + 1, ${CH_UUID(1, `(number * 7 + intDiv(number, 5) * 13) % ${PRODUCTS}`)},
      number % 4 + 1, toDecimal64((((number * 7 + intDiv(number, 5) * 13) % ${PRODUCTS}) * 37) % 10000, 2) / 100 + 1, ${META_VALUES} FROM numbers(${LINES})`,
  });
  // Merged parts, as a projection that has been running for a while has.
  for (const t of Object.values(TABLES)) await ch.command({ query: `OPTIMIZE TABLE ${DB}.${t} FINAL` });
  console.log(`clickhouse: loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

// --- the endpoints and their Postgres SQL ----------------------------------------------
const R = "placed_at >= $1 AND placed_at < $2";
const RS = `${R} AND status::text = ANY($3)`;
interface Case {
  name: string;
  path: string;
  sql: string;
  params: unknown[];
}
const range = `from=${FROM}&to=${TO}`;
const CASES: Case[] = [
  {
    name: "revenue (day)",
    path: `/api/dashboard/revenue?${range}&granularity=day`,
    sql: `SELECT date_trunc('day', placed_at AT TIME ZONE 'UTC') AS bucket, sum(total) AS revenue, count(*) AS orders FROM bench_read.orders WHERE ${RS} GROUP BY 1 ORDER BY 1`,
    params: [FROM, TO, STATUSES],
  },
  {
    name: "revenue (week)",
    path: `/api/dashboard/revenue?${range}&granularity=week`,
    sql: `SELECT date_trunc('week', placed_at AT TIME ZONE 'UTC') AS bucket, sum(total) AS revenue, count(*) AS orders FROM bench_read.orders WHERE ${RS} GROUP BY 1 ORDER BY 1`,
    params: [FROM, TO, STATUSES],
  },
  {
    name: "orders by status",
    path: `/api/dashboard/orders-by-status?${range}`,
    sql: `SELECT status::text AS status, count(*) AS orders, sum(total) AS revenue FROM bench_read.orders WHERE ${R} GROUP BY 1 ORDER BY 1`,
    params: [FROM, TO],
  },
  {
    name: "top products by revenue",
    path: `/api/dashboard/top-products?${range}&by=revenue&limit=10`,
    sql: `SELECT a.product_id, p.sku, p.name, a.units, a.revenue FROM (
            SELECT l.product_id, sum(l.quantity) AS units, sum(l.quantity * l.unit_price) AS revenue
              FROM bench_read.order_lines l JOIN bench_read.orders o ON o.id = l.order_id
             WHERE o.${R.replace(" AND placed_at", " AND o.placed_at")} AND o.status::text = ANY($3)
             GROUP BY l.product_id ORDER BY revenue DESC, units DESC LIMIT 10) a
          LEFT JOIN bench_read.products p ON p.id = a.product_id ORDER BY a.revenue DESC, a.units DESC`,
    params: [FROM, TO, STATUSES],
  },
  {
    name: "top products by units",
    path: `/api/dashboard/top-products?${range}&by=units&limit=10`,
    sql: `SELECT a.product_id, p.sku, p.name, a.units, a.revenue FROM (
            SELECT l.product_id, sum(l.quantity) AS units, sum(l.quantity * l.unit_price) AS revenue
              FROM bench_read.order_lines l JOIN bench_read.orders o ON o.id = l.order_id
             WHERE o.${R.replace(" AND placed_at", " AND o.placed_at")} AND o.status::text = ANY($3)
             GROUP BY l.product_id ORDER BY units DESC, revenue DESC LIMIT 10) a
          LEFT JOIN bench_read.products p ON p.id = a.product_id ORDER BY a.units DESC, a.revenue DESC`,
    params: [FROM, TO, STATUSES],
  },
  {
    name: "average order value",
    path: `/api/dashboard/average-order-value?${range}`,
    sql: `SELECT count(*) AS orders, sum(total) AS revenue FROM bench_read.orders WHERE ${RS}`,
    params: [FROM, TO, STATUSES],
  },
  {
    name: "new vs returning (day)",
    path: `/api/dashboard/customers?${range}&granularity=day`,
    sql: `WITH o AS (SELECT customer_id, date_trunc('day', placed_at AT TIME ZONE 'UTC') AS b FROM bench_read.orders WHERE ${RS} GROUP BY 1, 2),
               f AS (SELECT customer_id, date_trunc('day', min(placed_at) AT TIME ZONE 'UTC') AS fb FROM bench_read.orders
                      WHERE status::text = ANY($3) AND customer_id IN (SELECT customer_id FROM o) GROUP BY 1)
          SELECT o.b, count(*) FILTER (WHERE f.fb = o.b) AS new, count(*) FILTER (WHERE f.fb < o.b) AS returning
            FROM o JOIN f USING (customer_id) GROUP BY o.b ORDER BY o.b`,
    params: [FROM, TO, STATUSES],
  },
  {
    name: "low stock",
    path: "/api/dashboard/low-stock?threshold=5&limit=50",
    sql: "SELECT id, sku, name, stock, price FROM bench_read.products WHERE stock < $1 ORDER BY stock, sku LIMIT 50",
    params: [5],
  },
];

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
