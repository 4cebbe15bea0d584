import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { formatLsn, parseLsn } from "../../src/shared/lsn.js";
import { currentToken } from "../helpers/projection.js";
import { type ReadPipeline, startReadPipeline } from "../helpers/read-pipeline.js";
import { type WriteHarness, writeHarness } from "../helpers/write-api.js";

/**
 * The read API over the real pipeline: writes through the write API (real Postgres), Debezium,
 * Kafka, the real projector into an embedded ClickHouse; every dashboard number must equal the
 * same aggregate computed in Postgres. Other writers may share the stack, so each comparison
 * reads Postgres before and after the API read (which carries a token taken in between) and
 * only compares when Postgres did not change meanwhile.
 */
let w: WriteHarness;
let r: ReadPipeline;
const OLD = new Date(Date.now() - 3 * 86_400_000);
const statuses = ["placed", "paid", "shipped"];

async function tokenText(): Promise<string> {
  const res = await w.pool.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn");
  return res.rows[0]?.lsn as string;
}

const cents = (v: unknown) => Math.round(Number(v) * 100) / 100;

beforeAll(async () => {
  w = await writeHarness();
  r = await startReadPipeline("readpipe");
  // A new consumer group reads the demo topics from the beginning: let it catch up once.
  await r.projector.waitForLsn(await currentToken(w.pool), 170_000);
}, 180_000);

afterAll(async () => {
  await r?.close();
  await w?.close();
});

async function send(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const res = await w.send(method, path, body, headers);
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return { json, token: res.headers.get("x-consistency-token") as string };
}

/** Every bucket ($4: hour/day) from the one holding $1 to the one holding the last instant before $2, as a table `b`. */
const ALL_BUCKETS = `(SELECT generate_series(date_trunc($4, $1::timestamptz AT TIME ZONE 'UTC'),
  date_trunc($4, ($2::timestamptz - interval '1 microsecond') AT TIME ZONE 'UTC'), ('1 ' || $4)::interval) AS b)`;

/** Postgres before/after an API read carrying a token taken in between; equal snapshots only. */
async function compare<P, A>(pg: () => Promise<P>, api: (token: string) => Promise<A>): Promise<{ pg: P; api: A }> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const before = await pg();
    const result = await api(await tokenText());
    const after = await pg();
    if (isDeepStrictEqual(before, after)) return { pg: before, api: result };
  }
  throw new Error("Postgres kept changing under the comparison (another writer?)");
}

describe("read API over the real pipeline", () => {
  test("dashboard endpoints equal the same aggregates in Postgres", async () => {
    // Shop: 4 products with distinct prices, 4 customers, 10 orders; some paid, shipped, cancelled.
    // biome-ignore lint/suspicious/noExplicitAny: write API answers
    const products: any[] = [];
    for (const [i, price] of ["3.10", "7.25", "12.99", "0.45"].entries()) {
      products.push(
        (await send("POST", "/products", { sku: `RD-${w.run}-${i}`, name: `Read test ${i}`, price, stock: 40 + i }))
          .json,
      );
    }
    // biome-ignore lint/suspicious/noExplicitAny: write API answers
    const customers: any[] = [];
    for (let i = 0; i < 4; i++)
      customers.push(
        (await send("POST", "/customers", { email: `rd${i}-${w.run}@example.com`, name: `Reader ${i}` })).json,
      );
    // biome-ignore lint/suspicious/noExplicitAny: write API answers
    const orders: any[] = [];
    for (let i = 0; i < 10; i++) {
      const lines = products.slice(0, (i % 4) + 1).map((p, j) => ({ productId: p.id, quantity: ((i + j) % 3) + 1 }));
      orders.push((await send("POST", "/orders", { customerId: customers[i % 4].id, lines })).json);
    }
    await send("POST", `/orders/${orders[0].id}/pay`);
    await send("POST", `/orders/${orders[1].id}/pay`);
    await send("POST", `/orders/${orders[1].id}/ship`);
    await send("POST", `/orders/${orders[2].id}/cancel`);
    // Customer 0's first order moves three days back (a plain SQL write, captured like any other):
    // customer 0 is then new in that bucket and returning today.
    await w.pool.query("UPDATE shop.orders SET placed_at = $2, updated_at = now() WHERE id = $1", [orders[4].id, OLD]);
    // Drive stock of one product low for the low-stock endpoint.
    const left =
      (await w.pool.query<{ stock: number }>("SELECT stock FROM shop.products WHERE id = $1", [products[3].id])).rows[0]
        ?.stock ?? 0;
    await send("POST", `/products/${products[3].id}/stock-adjustments`, { delta: 2 - left });

    const from = new Date(OLD.getTime() - 86_400_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const range = [from, to];
    const get = async (path: string, token: string) => {
      const res = await r.get(path, { "X-Consistency-Token": token });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };

    // Revenue and order count per day and per hour.
    for (const g of ["day", "hour"] as const) {
      const { pg, api } = await compare(
        async () =>
          (
            await w.pool.query(
              // Every bucket of the range, those without orders as 0 (the chart has no gaps).
              `WITH o AS (SELECT date_trunc($4, placed_at AT TIME ZONE 'UTC') AS b, sum(total) AS revenue, count(*) AS orders
                            FROM shop.orders WHERE placed_at >= $1 AND placed_at < $2 AND status::text = ANY($3) GROUP BY 1)
               SELECT to_char(s.b, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS bucket,
                      coalesce(o.revenue, 0)::text AS revenue, coalesce(o.orders, 0)::int AS orders
                 FROM ${ALL_BUCKETS} AS s LEFT JOIN o ON o.b = s.b ORDER BY s.b`,
              [...range, statuses, g],
            )
          ).rows.map((x) => ({ bucket: x.bucket, revenue: cents(x.revenue), orders: x.orders })),
        async (t) => (await get(`/api/dashboard/revenue?from=${from}&to=${to}&granularity=${g}`, t)).data,
      );
      expect(api).toEqual(pg);
      expect(pg.length).toBeGreaterThanOrEqual(2);
    }

    // Orders by status.
    {
      const { pg, api } = await compare(
        async () =>
          (
            await w.pool.query(
              `SELECT status::text AS status, count(*)::int AS orders, sum(total)::text AS revenue
                 FROM shop.orders WHERE placed_at >= $1 AND placed_at < $2 GROUP BY 1 ORDER BY 1`,
              range,
            )
          ).rows.map((x) => ({ status: x.status, orders: x.orders, revenue: cents(x.revenue) })),
        async (t) => (await get(`/api/dashboard/orders-by-status?from=${from}&to=${to}`, t)).data,
      );
      expect(api).toEqual(pg);
      expect(pg.map((x: { status: string }) => x.status)).toEqual(
        expect.arrayContaining(["cancelled", "paid", "placed", "shipped"]),
      );
    }

    // Top products by revenue and by units: the same values in the same order.
    for (const by of ["revenue", "units"] as const) {
      const { pg, api } = await compare(
        async () =>
          (
            await w.pool.query(
              `SELECT l.product_id::text AS "productId", sum(l.quantity)::int AS units, sum(l.quantity * l.unit_price)::text AS revenue
                 FROM shop.order_lines l JOIN shop.orders o ON o.id = l.order_id
                WHERE o.placed_at >= $1 AND o.placed_at < $2 AND o.status::text = ANY($3)
                GROUP BY 1 ORDER BY ${by === "revenue" ? "sum(l.quantity * l.unit_price) DESC, 2 DESC" : "2 DESC, sum(l.quantity * l.unit_price) DESC"}, 1`,
              [...range, statuses],
            )
          ).rows.map((x) => ({ productId: x.productId, units: x.units, revenue: cents(x.revenue) })),
        async (t) => (await get(`/api/dashboard/top-products?from=${from}&to=${to}&by=${by}&limit=10`, t)).data,
      );
      const expected = new Map(pg.map((x) => [x.productId, x]));
      expect(api.length).toBe(Math.min(10, pg.length));
      for (const row of api)
        expect({ productId: row.productId, units: row.units, revenue: row.revenue }).toEqual(
          expected.get(row.productId),
        );
      expect(api.map((x: Record<string, number>) => x[by])).toEqual(pg.slice(0, api.length).map((x) => x[by]));
      const mine = api.find((x: { productId: string }) => x.productId === products[0].id);
      if (mine) expect(mine.sku).toBe(products[0].sku);
    }

    // Average order value.
    {
      const { pg, api } = await compare(
        async () => {
          const x = (
            await w.pool.query(
              "SELECT count(*)::int AS orders, coalesce(sum(total), 0)::text AS revenue FROM shop.orders WHERE placed_at >= $1 AND placed_at < $2 AND status::text = ANY($3)",
              [...range, statuses],
            )
          ).rows[0];
          return { orders: x.orders, revenue: cents(x.revenue) };
        },
        async (t) => (await get(`/api/dashboard/average-order-value?from=${from}&to=${to}`, t)).data,
      );
      expect(api).toEqual({ ...pg, averageOrderValue: Math.round((pg.revenue / pg.orders) * 100) / 100 });
    }

    // New vs returning customers per day.
    {
      const { pg, api } = await compare(
        async () =>
          (
            await w.pool.query(
              `WITH o AS (SELECT customer_id, date_trunc('day', placed_at AT TIME ZONE 'UTC') AS b FROM shop.orders
                           WHERE placed_at >= $1 AND placed_at < $2 AND status::text = ANY($3) GROUP BY 1, 2),
                    f AS (SELECT customer_id, date_trunc('day', min(placed_at) AT TIME ZONE 'UTC') AS fb FROM shop.orders
                           WHERE status::text = ANY($3) GROUP BY 1),
                    c AS (SELECT o.b, (count(*) FILTER (WHERE f.fb = o.b))::int AS n, (count(*) FILTER (WHERE f.fb < o.b))::int AS r
                            FROM o JOIN f USING (customer_id) GROUP BY o.b)
               SELECT to_char(s.b, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS bucket,
                      coalesce(c.n, 0) AS "newCustomers", coalesce(c.r, 0) AS "returningCustomers"
                 FROM ${ALL_BUCKETS} AS s LEFT JOIN c ON c.b = s.b ORDER BY s.b`,
              [...range, statuses, "day"],
            )
          ).rows,
        async (t) => (await get(`/api/dashboard/customers?from=${from}&to=${to}&granularity=day`, t)).data,
      );
      expect(api).toEqual(pg);
      expect(
        pg.reduce((n: number, x: { returningCustomers: number }) => n + x.returningCustomers, 0),
      ).toBeGreaterThanOrEqual(1);
    }

    // Low stock: the same products with the same stock, lowest first.
    {
      const { pg, api } = await compare(
        async () =>
          (
            await w.pool.query(
              'SELECT id::text AS "productId", sku, stock FROM shop.products WHERE stock < 5 ORDER BY stock, id',
            )
          ).rows,
        async (t) => (await get("/api/dashboard/low-stock?threshold=5&limit=1000", t)).data,
      );
      expect(pg.length).toBeLessThan(1000);
      expect(
        api
          .map((x: { productId: string; sku: string; stock: number }) => ({
            productId: x.productId,
            sku: x.sku,
            stock: x.stock,
          }))
          .sort((a: { productId: string }, b: { productId: string }) => a.productId.localeCompare(b.productId)),
      ).toEqual([...pg].sort((a, b) => a.productId.localeCompare(b.productId)));
      expect(api.map((x: { stock: number }) => x.stock)).toEqual(pg.map((x) => x.stock));
      expect(api.some((x: { productId: string }) => x.productId === products[3].id)).toBe(true);
    }

    // Generic aggregate over the projected orders table equals Postgres too (version: an integer column whatever
    // type the projection gave the money columns).
    {
      const { pg, api } = await compare(
        async () =>
          (
            await w.pool.query(
              "SELECT status::text AS status, count(*)::text AS count, sum(version)::text AS sum_version FROM shop.orders WHERE placed_at >= $1 GROUP BY 1 ORDER BY 1",
              [from],
            )
          ).rows.map((x) => ({ status: x.status, count: Number(x.count), sum_version: Number(x.sum_version) })),
        async (t) =>
          (
            await get(
              `/api/tables/shop__orders/aggregate?metrics=count,sum:version&groupBy=status&filter=${encodeURIComponent(`placed_at:gte:${from}`)}`,
              t,
            )
          ).data.map((x: Record<string, unknown>) => ({
            status: x.status,
            count: Number(x.count),
            sum_version: Number(x.sum_version),
          })),
      );
      expect(api).toEqual(pg);
    }
  });

  test("read-your-writes: 100 writes in a row, each read with its token contains it", async () => {
    const p = (await send("POST", "/products", { sku: `RYW-${w.run}`, name: "ryw", price: "1.00", stock: 10_000 }))
      .json;
    const c = (await send("POST", "/customers", { email: `ryw-${w.run}@example.com`, name: "ryw" })).json;
    const waited: number[] = [];
    for (let i = 0; i < 100; i++) {
      if (i % 2 === 0) {
        const { json: order, token } = await send("POST", "/orders", {
          customerId: c.id,
          lines: [{ productId: p.id, quantity: 1 }],
        });
        const res = await r.get(
          `/api/tables/shop__order_lines/rows?filter=${encodeURIComponent(`order_id:eq:${order.id}`)}`,
          {
            "X-Consistency-Token": token,
          },
        );
        expect(res.status, `iteration ${i}: ${JSON.stringify(res.body)}`).toBe(200);
        expect(res.body.data).toEqual([
          expect.objectContaining({ order_id: order.id, product_id: p.id, quantity: 1, unit_price: "1.00" }),
        ]);
        expect(parseLsn(res.body.freshness.lsn)).toBeGreaterThanOrEqual(parseLsn(token));
        waited.push(res.body.freshness.waitedMs);
      } else {
        const { json: customer, token } = await send("POST", "/customers", {
          email: `ryw${i}-${w.run}@example.com`,
          name: `ryw ${i}`,
        });
        const res = await r.get(
          `/api/tables/shop__customers/count?filter=${encodeURIComponent(`id:eq:${customer.id}`)}`,
          {
            "X-Consistency-Token": token,
          },
        );
        expect(res.status, `iteration ${i}: ${JSON.stringify(res.body)}`).toBe(200);
        expect(res.body.data.count).toBe(1);
        waited.push(res.body.freshness.waitedMs);
      }
    }
    // The stock the product lost is visible with the last write's token as well.
    const token = await tokenText();
    const stock = await r.get(
      `/api/tables/shop__products/rows?columns=stock&filter=${encodeURIComponent(`id:eq:${p.id}`)}`,
      {
        "X-Consistency-Token": token,
      },
    );
    expect(stock.body.data).toEqual([{ stock: 10_000 - 50 }]);
    expect(waited).toHaveLength(100);
  }, 400_000);

  test("without a token: answers at once with a correct freshness block", async () => {
    const before = await currentToken(w.pool);
    await r.projector.waitForLsn(before, 30_000);
    const t0 = Date.now();
    const res = await r.get("/api/dashboard/orders-by-status");
    const t1 = Date.now();
    expect(res.status).toBe(200);
    const f = res.body.freshness;
    const wm = r.projector.watermark();
    expect(wm).toBeDefined();
    // The block is the watermark the answer was computed at: at or after `before`, not past the current one.
    expect(parseLsn(f.lsn)).toBeGreaterThanOrEqual(before);
    expect(parseLsn(f.lsn)).toBeLessThanOrEqual(wm?.lsn ?? 0n);
    expect(f.lsn).toBe(formatLsn(parseLsn(f.lsn)));
    const commit = Date.parse(f.commitTime);
    expect(f.lagMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(t0 - commit - f.lagMs)).toBeLessThanOrEqual(t1 - t0 + 5);
    // Heartbeats every second keep an idle projection's commit time recent.
    expect(f.lagMs).toBeLessThan(30_000);
    expect(f.token).toBeUndefined();
    const ready = await r.app.request("/ready");
    expect(ready.status).toBe(200);
  });

  test("a token beyond anything written gets 503 + Retry-After after the bounded wait, never data", async () => {
    const far = formatLsn(parseLsn(await tokenText()) + 0x10_0000_0000n);
    const t0 = Date.now();
    const res = await r.get("/api/dashboard/revenue", { "X-Consistency-Token": far });
    expect(res.status).toBe(503);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(r.config.READ_WAIT_MS - 50);
    expect(res.headers.get("retry-after")).toBe(String(Math.ceil(r.config.READ_WAIT_MS / 1000)));
    expect(res.body).toMatchObject({ title: "Projection Behind", token: far });
    expect(res.body.data).toBeUndefined();
  });
});
