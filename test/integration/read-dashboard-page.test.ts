import { existsSync, mkdirSync, statSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ClickHouse } from "../../src/clickhouse/client.js";
import { DEFAULT_DOMAIN_TABLES, type RunningReadApi, startReadApi } from "../../src/read/app.js";
import { memoryFreshness } from "../../src/read/freshness.js";
import { loadConfig } from "../../src/shared/config.js";
import { createLogger } from "../../src/shared/logger.js";
import { createShopTables, openTempClickHouse } from "../helpers/read-fixture.js";

/**
 * The dashboard page in a real browser (Debian's chromium driven by playwright-core) against
 * the read API on a real port over a real embedded ClickHouse: every chart renders with the
 * API's data, the freshness indicator shows the watermark, the token flow works. Screenshot:
 * test-results/read-dashboard.png.
 */
const DB = "sidecar_page";
const TOKEN = "page-token-1234";
const T = DEFAULT_DOMAIN_TABLES;
const CHROMIUM = "/usr/bin/chromium";
let ch: ClickHouse;
let cleanup: () => Promise<void>;
let api: RunningReadApi;
let browser: Browser;

const uuid = (n: number, kind = 0) => `00000000-0000-4000-8${kind}00-${String(n).padStart(12, "0")}`;
const ts = (d: Date) => d.toISOString().replace("T", " ").replace("Z", "000");

beforeAll(async () => {
  ({ ch, cleanup } = await openTempClickHouse("read-page"));
  await createShopTables(ch, DB);
  const meta = { _version: 1, _deleted: 0, _commit_ts: ts(new Date()), _lsn: 1 };
  const now = Date.now();
  await ch.insert({
    table: `${DB}.${T.products}`,
    format: "JSONEachRow",
    values: Array.from({ length: 6 }, (_, i) => ({
      id: uuid(i, 1),
      sku: `SKU-${i}`,
      name: `Product ${i}`,
      price: `${i + 1}.50`,
      stock: i * 3,
      created_at: ts(new Date(now)),
      updated_at: ts(new Date(now)),
      version: 1,
      ...meta,
    })),
  });
  const orders = Array.from({ length: 40 }, (_, i) => ({
    id: uuid(i, 2),
    customer_id: uuid(i % 7, 3),
    status: ["placed", "paid", "shipped", "cancelled"][i % 4],
    total: `${(i % 9) * 11 + 5}.00`,
    placed_at: ts(new Date(now - (i % 20) * 86_400_000 - 3_600_000)),
    updated_at: ts(new Date(now)),
    version: 1,
    note: null,
    ...meta,
  }));
  await ch.insert({ table: `${DB}.${T.orders}`, format: "JSONEachRow", values: orders });
  await ch.insert({
    table: `${DB}.${T.orderLines}`,
    format: "JSONEachRow",
    values: orders.flatMap((o, i) =>
      [0, 1].map((j) => ({
        order_id: o.id,
        line_no: j + 1,
        product_id: uuid((i + j) % 6, 1),
        quantity: (i % 3) + 1,
        unit_price: "2.50",
        ...meta,
      })),
    ),
  });
  const config = loadConfig({ READ_API_TOKEN: TOKEN, CLICKHOUSE_DATABASE: DB, LOG_LEVEL: "silent" });
  api = await startReadApi(config, {
    clickhouse: ch,
    freshness: memoryFreshness(() => ({
      lsn: 0x2a_0000_1234n,
      commitTime: new Date(Date.now() - 1200),
      updatedAt: new Date(),
    })),
    log: createLogger("silent"),
    port: 0,
    hostname: "127.0.0.1",
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await cleanup?.();
});

async function apiGet(path: string) {
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as { data: unknown };
}

describe("dashboard page in headless Chromium", () => {
  test("charts render with the API's data; freshness shown; screenshot saved", async () => {
    expect(existsSync(CHROMIUM), "install Debian's chromium: apt-get install -y chromium").toBe(true);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
    const failed: string[] = [];
    page.on("pageerror", (e) => failed.push(String(e)));
    page.on("requestfailed", (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
    const external: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(api.url)) external.push(r.url());
    });
    // Everything the page's Content-Security-Policy blocks (an inline style or script, say) lands here.
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { __csp: string[] }).__csp = seen;
      document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const response = await page.goto(`${api.url}/#token=${TOKEN}`);
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe-inline/);
    await page.waitForFunction(() => Number(document.body.dataset.renders ?? 0) >= 1, undefined, { timeout: 30_000 });

    // The token left the address bar and lives in this tab's sessionStorage.
    expect(page.url()).toBe(`${api.url}/`);
    expect(await page.evaluate(() => sessionStorage.getItem("cqrs-sidecar.readToken"))).toBe(TOKEN);

    const state = await page.evaluate(() => window.__dashboard);
    expect(state.lastError).toBeNull();
    const range = (days: number) => {
      const to = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 60_000);
      return `from=${new Date(to.getTime() - days * 86_400_000).toISOString()}&to=${to.toISOString()}`;
    };
    const expected = {
      "chart-revenue": ((await apiGet(`/api/dashboard/revenue?${range(30)}&granularity=day`)).data as unknown[]).length,
      "chart-status": ((await apiGet(`/api/dashboard/orders-by-status?${range(30)}`)).data as unknown[]).length,
      "chart-top-revenue": (
        (await apiGet(`/api/dashboard/top-products?${range(30)}&by=revenue&limit=10`)).data as unknown[]
      ).length,
      "chart-top-units": (
        (await apiGet(`/api/dashboard/top-products?${range(30)}&by=units&limit=10`)).data as unknown[]
      ).length,
      "chart-customers": ((await apiGet(`/api/dashboard/customers?${range(30)}&granularity=day`)).data as unknown[])
        .length,
      "chart-stock": ((await apiGet("/api/dashboard/low-stock?threshold=10&limit=30")).data as unknown[]).length,
    };
    expect(expected["chart-revenue"]).toBeGreaterThanOrEqual(15);
    expect(expected["chart-status"]).toBe(4);
    expect(expected["chart-stock"]).toBe(4); // stock 0, 3, 6, 9
    expect(state.points).toEqual(expected);

    // chart.js drew into every canvas: it has a size and non-blank pixels.
    for (const id of Object.keys(expected)) {
      const painted = await page.evaluate((canvasId) => {
        const c = document.getElementById(canvasId) as HTMLCanvasElement;
        const ctx = c.getContext("2d");
        if (!ctx || c.width === 0 || c.height === 0) return 0;
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if ((px[i] ?? 0) > 0) n++;
        return n;
      }, id);
      expect(painted, id).toBeGreaterThan(500);
    }
    const aov = (await apiGet(`/api/dashboard/average-order-value?${range(30)}`)).data as { orders: number };
    expect(await page.textContent("#kpi-orders")).toBe(String(aov.orders));
    expect(await page.textContent("#freshness-text")).toMatch(/LSN 2A\/1234/);
    expect(await page.getAttribute("#freshness", "data-state")).toBe("ok");

    // Live refresh: renders keep coming without a reload.
    await page.selectOption("#refresh", "2000");
    const before = Number(await page.evaluate(() => document.body.dataset.renders));
    await page.waitForFunction((n) => Number(document.body.dataset.renders) > n, before, { timeout: 10_000 });

    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/read-dashboard.png", fullPage: true });
    expect(statSync("test-results/read-dashboard.png").size).toBeGreaterThan(20_000);
    expect(failed).toEqual([]);
    expect(external).toEqual([]); // no CDN: every request goes to the read API
    expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
    await page.close();
  });

  test("without a token the page asks for one; with it the charts appear", async () => {
    const page = await browser.newPage();
    await page.goto(`${api.url}/`);
    await page.waitForSelector("#login", { state: "visible", timeout: 15_000 });
    expect(await page.textContent("#error")).toMatch(/token/);
    expect(await page.evaluate(() => document.body.dataset.renders)).toBeUndefined();
    await page.fill("#token", "wrong");
    await page.click("#save-token");
    await page.waitForFunction(() => window.__dashboard.lastError !== null, undefined, { timeout: 10_000 });
    expect(await page.evaluate(() => document.body.dataset.renders)).toBeUndefined();
    await page.fill("#token", TOKEN);
    await page.click("#save-token");
    await page.waitForFunction(() => Number(document.body.dataset.renders ?? 0) >= 1, undefined, { timeout: 15_000 });
    expect(await page.isVisible("#login")).toBe(false);
    await page.close();
  });
});
