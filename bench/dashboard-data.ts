/**
 * The dashboard data set of bench/read.ts, shared with bench/isolation.ts: order lines,
 * orders, customers and products over 2024 made by the same integer formulas in Postgres
 * (schema `bench_read`, not captured by the demo connector) and in ClickHouse (a database
 * shaped like the projector's tables), and each dashboard endpoint with its Postgres SQL.
 */
import type pg from "pg";
import { type ClickHouse, queryRows } from "../src/clickhouse/client.js";
import type { DomainTables } from "../src/read/dashboard.js";

export const PRODUCTS = 2000;
export const DB = "bench_read";
export const TABLES: DomainTables = {
  customers: "bench__customers",
  products: "bench__products",
  orders: "bench__orders",
  orderLines: "bench__order_lines",
};
export const FROM = "2024-01-01T00:00:00Z";
export const TO = "2025-01-01T00:00:00Z";
export const STATUSES = ["placed", "paid", "shipped"];

export interface Case {
  name: string;
  path: string;
  sql: string;
  params: unknown[];
}

/** Loaders and endpoint cases for `LINES` order lines (5 per order, 10 orders per customer). */
export function dashboardData(LINES: number, pool: pg.Pool, ch: ClickHouse) {
  const ORDERS = Math.floor(LINES / 5);
  const CUSTOMERS = Math.max(1, Math.floor(ORDERS / 10));
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
  return { ORDERS, CUSTOMERS, loadPostgres, loadClickHouse, CASES, range };
}
