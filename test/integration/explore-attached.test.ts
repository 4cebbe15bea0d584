import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attach } from "../../src/attach/attach.js";
import type { ClickHouse } from "../../src/clickhouse/client.js";
import type { Projector } from "../../src/projector/projector.js";
import { type RunningReadApi, startReadApi } from "../../src/read/app.js";
import { projectorFreshness } from "../../src/read/progress.js";
import type { Config } from "../../src/shared/config.js";
import { createLogger } from "../../src/shared/logger.js";
import type { PgPool } from "../../src/shared/postgres.js";
import { type AttachmentFixture, createAttachmentFixture } from "../helpers/attachment.js";

const run = promisify(execFile);
const _sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The explore view on a database the sidecar did not create: a schema made here with raw SQL,
 * attached on the real stack (Postgres → Debezium → Kafka → the real projector → chDB), read
 * through the read API by the page in headless Chromium. Table list, filters, keyset pages,
 * a grouped chart, a time series with empty days, CSV compared with Postgres's own COPY … CSV.
 * Screenshots: test-results/explore-*.png.
 */
const CHROMIUM = "/usr/bin/chromium";
const TOKEN = `explore-${randomBytes(6).toString("hex")}`;
/** Below the table's 240 rows, so an unfiltered export hits the cap. */
const MAX_ROWS = 200;
const id = `ex${randomBytes(3).toString("hex")}`;
const schema = `explore_${id}`;
const name = `ex_${id}`;
const ORDERS = `${schema}__orders`;
/** Days of March 2024 without any order: the time series must show them as 0. */
const EMPTY_DAYS = [5, 6, 12];

let fx: AttachmentFixture;
let config: Config;
let pool: PgPool;
let ch: ClickHouse;
let projector: Projector | undefined;
let api: RunningReadApi | undefined;
let browser: Browser;
let page: Page;

async function createSchema(): Promise<void> {
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(`CREATE TABLE ${schema}.orders (
    id int PRIMARY KEY, customer text NOT NULL, status text NOT NULL, amount numeric(10, 2) NOT NULL,
    placed_at timestamptz NOT NULL, shipped_on date, note text)`);
  await pool.query(`CREATE TABLE ${schema}.customers (id int PRIMARY KEY, name text NOT NULL)`);
  // 240 orders over 1–20 March 2024, none on the empty days; notes that CSV must quote.
  await pool.query(
    `INSERT INTO ${schema}.orders
     SELECT g, 'c' || (g % 7), (ARRAY['placed','paid','shipped'])[g % 3 + 1], (g * 7 % 113) + 0.5,
            timestamptz '2024-03-01 00:00:00+00' + (d - 1) * interval '1 day' + (g % 24) * interval '1 hour' + g * interval '1 second',
            CASE WHEN g % 4 = 0 THEN date '2024-03-21' + g % 9 END,
            (ARRAY[NULL, '', 'say "hi"', 'a,b', E'two\\nlines', 'plain'])[g % 6 + 1]
       FROM generate_series(1, 240) g,
            LATERAL (SELECT (ARRAY(SELECT x FROM generate_series(1, 20) x WHERE x <> ALL ($1::int[])))[g % 17 + 1] AS d) days`,
    [EMPTY_DAYS],
  );
  await pool.query(`INSERT INTO ${schema}.customers SELECT g, 'customer ' || g FROM generate_series(0, 6) g`);
}

beforeAll(async () => {
  fx = await createAttachmentFixture(
    "ex",
    () => [schema],
    { READ_API_TOKEN: TOKEN, READ_MAX_ROWS: String(MAX_ROWS) },
    { id },
  );
  ({ config, pool, ch } = fx);
  await createSchema();
  await attach(fx.deps(), { name, schema, noKey: "skip", wait: false });
  projector = await fx.project();
  const p = projector;
  api = await startReadApi(config, {
    clickhouse: ch,
    freshness: projectorFreshness(p),
    log: createLogger("warn"),
    port: 0,
    hostname: "127.0.0.1",
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
  page = await browser.newPage({ viewport: { width: 1500, height: 1100 }, acceptDownloads: true });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __csp: string[] }).__csp = seen;
    document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  mkdirSync("test-results", { recursive: true });
}, 240_000);

const pageErrors: string[] = [];

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await api?.close().catch(() => undefined);
  await fx?.close();
}, 120_000);

type Probe = typeof window.__explore;
const probe = (): Promise<Probe> => page.evaluate(() => window.__explore);

/** Runs `action`, then waits until the explore view has rendered again with what it shows settled. */
async function rendered(action: () => Promise<unknown>): Promise<Probe> {
  const before = (await probe()).renders;
  await action();
  await page.waitForFunction((n) => window.__explore.renders > n && !window.__explore.busy, before, {
    timeout: 20_000,
  });
  return probe();
}

const pgRows = async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as T[];

/** Postgres's own CSV of a query (psql \copy), as the reference an export must equal byte for byte. */
async function postgresCsv(query: string): Promise<string> {
  const { stdout } = await run("psql", [
    config.DATABASE_URL,
    "-X",
    "-q",
    "-c",
    `\\copy (${query}) TO STDOUT WITH (FORMAT csv, HEADER)`,
  ]);
  return stdout;
}

const CSV_COLUMNS = `id, customer, status, amount, to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS placed_at, shipped_on, note`;

describe("explore view on an attached schema, in headless Chromium", () => {
  it("lists the projected tables with rows, lag, LSN and health", async () => {
    expect(api).toBeDefined();
    const url = api?.url ?? "";
    await page.goto(`${url}/?view=explore#token=${TOKEN}`);
    await page.waitForFunction(() => Number(document.body.dataset.exploreRenders ?? 0) >= 1, undefined, {
      timeout: 30_000,
    });
    expect(page.url()).toBe(`${url}/?view=explore`); // the token left the address bar
    const tables = (await probe()).tables;
    expect(tables).toEqual(
      expect.arrayContaining([
        { name: ORDERS, rows: 240, health: "healthy" },
        { name: `${schema}__customers`, rows: 7, health: "healthy" },
      ]),
    );
    expect(await page.textContent("#tables-list")).toMatch(/LSN/);
    expect(await page.textContent("#freshness-text")).toMatch(/LSN [0-9A-F]+\/[0-9A-F]+/);
    await page.screenshot({ path: "test-results/explore-tables.png", fullPage: true });
  });

  it("opens a table: columns with types, filters, keyset pages equal to Postgres; the state survives a reload", async () => {
    let p = await rendered(() => page.click(`button[data-table="${ORDERS}"]`));
    expect(p.table?.count).toBe(240);
    expect(p.table?.rows.length).toBe(50);
    expect(await page.textContent("#rows thead")).toMatch(/amountDecimal\(10, 2\)/);

    await page.selectOption("#filter-column", "status");
    await page.selectOption("#filter-op", "eq");
    await page.fill("#filter-value", "paid");
    p = await rendered(() => page.click("#filter-add"));
    await page.selectOption("#filter-column", "amount");
    await page.selectOption("#filter-op", "gte");
    await page.fill("#filter-value", "20");
    p = await rendered(() => page.click("#filter-add"));
    const where = "status = 'paid' AND amount >= 20";
    const n =
      (await pgRows<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.orders WHERE ${where}`))[0]?.n ?? 0;
    expect(n).toBeGreaterThan(50);
    expect(p.table?.count).toBe(n);

    // Sorted by amount descending (two clicks on its header), then the next keyset page.
    await rendered(() => page.click('button.sort[data-column="amount"]'));
    p = await rendered(() => page.click('button.sort[data-column="amount"]'));
    const pgIds = (
      await pgRows<{ id: number }>(`SELECT id FROM ${schema}.orders WHERE ${where} ORDER BY amount DESC, id DESC`)
    ).map((r) => r.id);
    expect(p.table?.rows.map((r) => Number(r.id))).toEqual(pgIds.slice(0, 50));
    p = await rendered(() => page.click("#page-next"));
    expect(p.table?.rows.map((r) => Number(r.id))).toEqual(pgIds.slice(50, 100));
    expect(await page.textContent("#page-info")).toBe(`rows 51–${Math.min(100, n)}`);

    const state = new URL(page.url()).searchParams;
    expect(state.get("table")).toBe(ORDERS);
    expect(state.getAll("filter")).toEqual(["status:eq:paid", "amount:gte:20"]);
    expect(state.get("order")).toBe("amount:desc");
    expect(state.get("after")).toBeTruthy();

    // A reload (or a shared link, with the token in this tab) shows the same page.
    await page.reload();
    await page.waitForFunction(() => Number(document.body.dataset.exploreRenders ?? 0) >= 1, undefined, {
      timeout: 20_000,
    });
    p = await probe();
    expect(p.table?.rows.map((r) => Number(r.id))).toEqual(pgIds.slice(50, 100));
    expect(await page.textContent("#filter-chips")).toMatch(/status eq paid.*amount gte 20/s);
    p = await rendered(() => page.click("#page-first"));
    expect(p.table?.rows.map((r) => Number(r.id))).toEqual(pgIds.slice(0, 50));
    await page.screenshot({ path: "test-results/explore-table.png", fullPage: true });
  });

  it("builds a grouped bar chart equal to the same GROUP BY in Postgres", async () => {
    await rendered(() => page.selectOption("#chart-kind", "group"));
    await rendered(() => page.selectOption("#chart-by", "customer"));
    await rendered(() => page.selectOption("#chart-fn", "sum"));
    const p = await rendered(() => page.selectOption("#chart-col", "amount"));
    const pg = await pgRows<{ customer: string; total: string }>(
      `SELECT customer, sum(amount)::text AS total FROM ${schema}.orders WHERE status = 'paid' AND amount >= 20
        GROUP BY customer ORDER BY sum(amount) DESC, customer`,
    );
    expect(p.chart?.kind).toBe("group");
    expect(p.chart?.labels).toEqual(pg.map((r) => r.customer));
    expect(p.chart?.values).toEqual(pg.map((r) => Number(r.total)));
    expect(new URL(page.url()).searchParams.get("metric")).toBe("sum:amount");
    await page.screenshot({ path: "test-results/explore-group-chart.png", fullPage: true });
  });

  it("builds a daily time series with the empty days as 0, buckets from ClickHouse", async () => {
    // Only the amount filter stays; a range filter on placed_at sets where the series starts and ends.
    await rendered(() => page.click('#filter-chips button[aria-label="remove status:eq:paid"]'));
    await page.selectOption("#filter-column", "placed_at");
    await page.selectOption("#filter-op", "gte");
    await page.fill("#filter-value", "2024-02-28T00:00:00Z");
    await rendered(() => page.click("#filter-add"));
    await page.selectOption("#filter-op", "lt");
    await page.fill("#filter-value", "2024-03-24T00:00:00Z");
    await rendered(() => page.click("#filter-add"));
    await rendered(() => page.selectOption("#chart-kind", "time"));
    await rendered(() => page.selectOption("#chart-by", "placed_at"));
    await rendered(() => page.selectOption("#chart-bucket", "day"));
    const p = await rendered(() => page.selectOption("#chart-fn", "count"));
    const pg = await pgRows<{ day: string; n: number }>(
      `SELECT to_char(d, 'YYYY-MM-DD') AS day, count(o.id)::int AS n
         FROM generate_series(timestamp '2024-02-28', timestamp '2024-03-23', interval '1 day') d
         LEFT JOIN ${schema}.orders o ON date_trunc('day', o.placed_at AT TIME ZONE 'UTC') = d AND o.amount >= 20
        GROUP BY d ORDER BY d`,
    );
    expect(p.chart?.kind).toBe("time");
    expect(p.chart?.labels).toEqual(pg.map((r) => r.day));
    expect(p.chart?.values).toEqual(pg.map((r) => r.n));
    expect(pg.length).toBe(25);
    for (const day of EMPTY_DAYS)
      expect(p.chart?.values[p.chart.labels.indexOf(`2024-03-${String(day).padStart(2, "0")}`)]).toBe(0);
    await page.screenshot({ path: "test-results/explore-time-series.png", fullPage: true });

    // Weeks (from Monday) and the same series straight from the API.
    const w = await rendered(() => page.selectOption("#chart-bucket", "week"));
    expect(w.chart?.labels).toEqual(["2024-02-26", "2024-03-04", "2024-03-11", "2024-03-18"]);
  });

  it("downloads the current filter as CSV equal to Postgres's COPY … CSV; past READ_MAX_ROWS the file says so", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#csv")]);
    expect(download.suggestedFilename()).toBe(`${ORDERS}.csv`);
    const file = readFileSync((await download.path()) as string, "utf8");
    const expected = await postgresCsv(
      `SELECT ${CSV_COLUMNS} FROM ${schema}.orders WHERE amount >= 20 AND placed_at >= '2024-02-28T00:00:00Z' AND placed_at < '2024-03-24T00:00:00Z' ORDER BY amount DESC, id DESC`,
    );
    expect(file.split("\n").length).toBeGreaterThan(100);
    expect(file).toBe(expected);
    expect((await probe()).csv).toEqual({ bytes: Buffer.byteLength(file), cap: MAX_ROWS, truncated: false });

    // All 240 rows: the first 200 in primary key order, then the line that says the file stops there.
    const res = await fetch(`${api?.url}/api/tables/${ORDERS}/csv`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-row-cap")).toBe(String(MAX_ROWS));
    expect(res.headers.get("x-freshness-lsn")).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    const all = await res.text();
    const full = await postgresCsv(`SELECT ${CSV_COLUMNS} FROM ${schema}.orders ORDER BY id LIMIT ${MAX_ROWS}`);
    expect(all).toBe(
      `${full}# truncated: more than ${MAX_ROWS} rows match; this file holds the first ${MAX_ROWS} (READ_MAX_ROWS). Narrow the filter.\n`,
    );

    // Nothing the strict CSP blocked, no script error on the way.
    expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
