import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLsn, parseLsn } from "../../src/shared/lsn.js";
import { type WriteHarness, writeHarness } from "../helpers/write-api.js";

/** Every command of the write API: success and each failure mode, HTTP answer and Postgres rows. */
let h: WriteHarness;
beforeAll(async () => {
  h = await writeHarness();
});
afterAll(async () => {
  await h?.close();
});

const MISSING = "00000000-0000-4000-8000-000000000000";

async function problem(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  const body = await res.json();
  expect(body).toMatchObject({
    status,
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(Array.isArray(body.errors)).toBe(true);
  return body;
}

async function row(sql: string, params: unknown[]) {
  const { rows } = await h.pool.query(sql, params);
  return rows[0];
}

describe("consistency token", () => {
  it("is the WAL insert LSN after COMMIT, in header and body, and grows with each write", async () => {
    const before = (await row("SELECT pg_current_wal_insert_lsn()::text AS lsn", [])).lsn as string;
    const res = await h.send("POST", "/customers", { email: `token-${h.run}@example.com`, name: "Token" });
    expect(res.status).toBe(201);
    const header = res.headers.get("x-consistency-token");
    const body = await res.json();
    expect(header).toBe(body.consistencyToken);
    expect(isLsn(header as string)).toBe(true);
    expect(parseLsn(header as string)).toBeGreaterThan(parseLsn(before));
    const after = (await row("SELECT pg_current_wal_insert_lsn()::text AS lsn", [])).lsn as string;
    expect(parseLsn(header as string)).toBeLessThanOrEqual(parseLsn(after));
    const second = await h.customer();
    expect(parseLsn(second.consistencyToken)).toBeGreaterThan(parseLsn(header as string));
  });
});

describe("customers", () => {
  it("creates a customer (201, ETag, row in shop.customers)", async () => {
    const email = `create-${h.run}@example.com`;
    const res = await h.send("POST", "/customers", { email, name: "Ada Lovelace" });
    expect(res.status).toBe(201);
    expect(res.headers.get("etag")).toBe('"1"');
    const body = await res.json();
    expect(body).toMatchObject({ email, name: "Ada Lovelace", version: 1 });
    expect(await row("SELECT email, name, version FROM shop.customers WHERE id = $1", [body.id])).toEqual({
      email,
      name: "Ada Lovelace",
      version: 1,
    });
  });

  it("refuses a duplicate email with 409 and writes nothing", async () => {
    const c = await h.customer();
    const res = await h.send("POST", "/customers", { email: c.email, name: "Other" });
    const p = await problem(res, 409);
    expect(p.errors).toEqual([{ field: "email", reason: "already taken" }]);
    expect(await h.count("SELECT 1 FROM shop.customers WHERE email = $1", [c.email])).toBe(1);
  });

  it("updates name and email, bumping the version", async () => {
    const c = await h.customer();
    const email = `renamed-${h.run}@example.com`;
    const res = await h.send("PATCH", `/customers/${c.id}`, { name: "Renamed", email }, { "if-match": '"1"' });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe('"2"');
    expect(await row("SELECT name, email, version FROM shop.customers WHERE id = $1", [c.id])).toEqual({
      name: "Renamed",
      email,
      version: 2,
    });
  });

  it("refuses a stale If-Match with 409 and the current version, writes nothing", async () => {
    const c = await h.customer();
    expect((await h.send("PATCH", `/customers/${c.id}`, { name: "v2" })).status).toBe(200);
    const p = await problem(await h.send("PATCH", `/customers/${c.id}`, { name: "v3" }, { "if-match": '"1"' }), 409);
    expect(p.currentVersion).toBe(2);
    expect(await row("SELECT name, version FROM shop.customers WHERE id = $1", [c.id])).toEqual({
      name: "v2",
      version: 2,
    });
  });

  it("refuses an update to another customer's email with 409", async () => {
    const a = await h.customer();
    const b = await h.customer();
    await problem(await h.send("PATCH", `/customers/${b.id}`, { email: a.email }), 409);
    expect((await row("SELECT email FROM shop.customers WHERE id = $1", [b.id])).email).toBe(b.email);
  });

  it("refuses an empty update with 400", async () => {
    const c = await h.customer();
    await problem(await h.send("PATCH", `/customers/${c.id}`, {}), 400);
    expect((await row("SELECT version FROM shop.customers WHERE id = $1", [c.id])).version).toBe(1);
  });

  it("answers 404 for an unknown customer on update and delete", async () => {
    await problem(await h.send("PATCH", `/customers/${MISSING}`, { name: "x" }), 404);
    await problem(await h.send("DELETE", `/customers/${MISSING}`), 404);
  });

  it("deletes a customer without orders", async () => {
    const c = await h.customer();
    const res = await h.send("DELETE", `/customers/${c.id}`, undefined, { "if-match": '"1"' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: c.id, deleted: true });
    expect(await h.count("SELECT 1 FROM shop.customers WHERE id = $1", [c.id])).toBe(0);
  });

  it("refuses to delete with a stale version (409) or when the customer has orders (409)", async () => {
    const c = await h.customer();
    await h.send("PATCH", `/customers/${c.id}`, { name: "v2" });
    await problem(await h.send("DELETE", `/customers/${c.id}`, undefined, { "if-match": '"1"' }), 409);
    const p = await h.product();
    expect(
      (await h.send("POST", "/orders", { customerId: c.id, lines: [{ productId: p.id, quantity: 1 }] })).status,
    ).toBe(201);
    const refused = await problem(await h.send("DELETE", `/customers/${c.id}`), 409);
    expect(refused.type).toContain("in-use");
    expect(await h.count("SELECT 1 FROM shop.customers WHERE id = $1", [c.id])).toBe(1);
  });
});

describe("products", () => {
  it("creates a product with price and stock", async () => {
    const sku = `NEW-${h.run}`;
    const res = await h.send("POST", "/products", { sku, name: "Mug", price: "12.50", stock: 7 });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({ sku, name: "Mug", price: "12.50", stock: 7, version: 1 });
    expect(await row("SELECT price::text AS price, stock FROM shop.products WHERE id = $1", [body.id])).toEqual({
      price: "12.50",
      stock: 7,
    });
  });

  it("defaults stock to 0 and refuses a duplicate sku with 409", async () => {
    const p = await h.product({ stock: undefined });
    expect(p.stock).toBe(0);
    await problem(await h.send("POST", "/products", { sku: p.sku, name: "Again", price: "1.00" }), 409);
    expect(await h.count("SELECT 1 FROM shop.products WHERE sku = $1", [p.sku])).toBe(1);
  });

  it("changes the price with If-Match; a stale version is 409; unknown product is 404", async () => {
    const p = await h.product();
    const res = await h.send("PUT", `/products/${p.id}/price`, { price: "99.99" }, { "if-match": '"1"' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ price: "99.99", version: 2 });
    await problem(await h.send("PUT", `/products/${p.id}/price`, { price: "1.00" }, { "if-match": '"1"' }), 409);
    await problem(await h.send("PUT", `/products/${MISSING}/price`, { price: "1.00" }), 404);
    expect(await row("SELECT price::text AS price, version FROM shop.products WHERE id = $1", [p.id])).toEqual({
      price: "99.99",
      version: 2,
    });
  });

  it("adjusts stock up and down, never below zero", async () => {
    const p = await h.product({ stock: 5 });
    expect(await (await h.send("POST", `/products/${p.id}/stock-adjustments`, { delta: 3 })).json()).toMatchObject({
      stock: 8,
    });
    expect(await (await h.send("POST", `/products/${p.id}/stock-adjustments`, { delta: -8 })).json()).toMatchObject({
      stock: 0,
    });
    const refused = await problem(await h.send("POST", `/products/${p.id}/stock-adjustments`, { delta: -1 }), 409);
    expect(refused.available).toBe(0);
    await problem(await h.send("POST", `/products/${MISSING}/stock-adjustments`, { delta: 1 }), 404);
    await problem(await h.send("POST", `/products/${p.id}/stock-adjustments`, { delta: 0 }), 400);
    expect(await row("SELECT stock, version FROM shop.products WHERE id = $1", [p.id])).toEqual({
      stock: 0,
      version: 3,
    });
  });

  it("refuses a stock level past int4 with 422", async () => {
    const p = await h.product({ stock: 1_000_000_000 });
    await h.pool.query("UPDATE shop.products SET stock = 2147000000 WHERE id = $1", [p.id]);
    await problem(await h.send("POST", `/products/${p.id}/stock-adjustments`, { delta: 1_000_000 }), 422);
    expect((await row("SELECT stock FROM shop.products WHERE id = $1", [p.id])).stock).toBe(2_147_000_000);
  });
});

describe("orders", () => {
  it("places an order: one order row, its lines, stock taken, total priced from the products", async () => {
    const c = await h.customer();
    const a = await h.product({ price: "2.50", stock: 10 });
    const b = await h.product({ price: "10.00", stock: 3 });
    const res = await h.send("POST", "/orders", {
      customerId: c.id,
      lines: [
        { productId: a.id, quantity: 4 },
        { productId: b.id, quantity: 3 },
      ],
    });
    expect(res.status).toBe(201);
    const order = await res.json();
    expect(order).toMatchObject({ customerId: c.id, status: "placed", total: "40.00", version: 1 });
    expect(order.lines).toEqual([
      { lineNo: 1, productId: a.id, quantity: 4, unitPrice: "2.50" },
      { lineNo: 2, productId: b.id, quantity: 3, unitPrice: "10.00" },
    ]);
    expect(await row("SELECT status::text, total::text FROM shop.orders WHERE id = $1", [order.id])).toEqual({
      status: "placed",
      total: "40.00",
    });
    const { rows: lines } = await h.pool.query(
      "SELECT line_no, product_id, quantity, unit_price::text FROM shop.order_lines WHERE order_id = $1 ORDER BY line_no",
      [order.id],
    );
    expect(lines).toEqual([
      { line_no: 1, product_id: a.id, quantity: 4, unit_price: "2.50" },
      { line_no: 2, product_id: b.id, quantity: 3, unit_price: "10.00" },
    ]);
    expect((await row("SELECT stock FROM shop.products WHERE id = $1", [a.id])).stock).toBe(6);
    expect((await row("SELECT stock FROM shop.products WHERE id = $1", [b.id])).stock).toBe(0);
  });

  it("rejects unknown products (422, per line) and takes no stock", async () => {
    const c = await h.customer();
    const a = await h.product({ stock: 5 });
    const p = await problem(
      await h.send("POST", "/orders", {
        customerId: c.id,
        lines: [
          { productId: a.id, quantity: 1 },
          { productId: MISSING, quantity: 1 },
        ],
      }),
      422,
    );
    expect(p.errors).toEqual([{ field: "lines[1].productId", reason: `no product ${MISSING}` }]);
    expect((await row("SELECT stock FROM shop.products WHERE id = $1", [a.id])).stock).toBe(5);
    expect(await h.count("SELECT 1 FROM shop.orders WHERE customer_id = $1", [c.id])).toBe(0);
  });

  it("rejects an unknown customer (422) and takes no stock", async () => {
    const a = await h.product({ stock: 5 });
    const p = await problem(
      await h.send("POST", "/orders", { customerId: MISSING, lines: [{ productId: a.id, quantity: 1 }] }),
      422,
    );
    expect(p.errors).toEqual([{ field: "customerId", reason: "no such customer" }]);
    expect((await row("SELECT stock FROM shop.products WHERE id = $1", [a.id])).stock).toBe(5);
    expect(await h.count("SELECT 1 FROM shop.orders WHERE customer_id = $1", [MISSING])).toBe(0);
  });

  it("rejects insufficient stock on any line (409) and takes stock from none", async () => {
    const c = await h.customer();
    const a = await h.product({ stock: 5 });
    const b = await h.product({ stock: 1 });
    const p = await problem(
      await h.send("POST", "/orders", {
        customerId: c.id,
        lines: [
          { productId: a.id, quantity: 2 },
          { productId: b.id, quantity: 2 },
        ],
      }),
      409,
    );
    expect(p.errors).toEqual([{ field: "lines[1].quantity", reason: "only 1 in stock" }]);
    expect(p.shortages).toEqual([{ productId: b.id, available: 1 }]);
    expect((await row("SELECT stock FROM shop.products WHERE id = $1", [a.id])).stock).toBe(5);
    expect((await row("SELECT stock FROM shop.products WHERE id = $1", [b.id])).stock).toBe(1);
    expect(await h.count("SELECT 1 FROM shop.orders WHERE customer_id = $1", [c.id])).toBe(0);
  });

  it("rejects empty orders and the same product on two lines (400)", async () => {
    const c = await h.customer();
    const a = await h.product();
    await problem(await h.send("POST", "/orders", { customerId: c.id, lines: [] }), 400);
    const dup = await problem(
      await h.send("POST", "/orders", {
        customerId: c.id,
        lines: [
          { productId: a.id, quantity: 1 },
          { productId: a.id, quantity: 1 },
        ],
      }),
      400,
    );
    expect(dup.errors).toEqual([{ field: "lines[1].productId", reason: "product already on another line" }]);
    expect(await h.count("SELECT 1 FROM shop.orders WHERE customer_id = $1", [c.id])).toBe(0);
  });

  it("rejects a total past numeric(14,2) with 422", async () => {
    const c = await h.customer();
    const products = await Promise.all([0, 1, 2].map(() => h.product({ price: "9999999999.99", stock: 10_000 })));
    await problem(
      await h.send("POST", "/orders", {
        customerId: c.id,
        lines: products.map((p) => ({ productId: p.id, quantity: 10_000 })),
      }),
      422,
    );
    expect(await h.count("SELECT 1 FROM shop.orders WHERE customer_id = $1", [c.id])).toBe(0);
  });

  async function placed(stock = 10, quantity = 2) {
    const c = await h.customer();
    const p = await h.product({ stock });
    const res = await h.send("POST", "/orders", { customerId: c.id, lines: [{ productId: p.id, quantity }] });
    expect(res.status).toBe(201);
    return { order: await res.json(), product: p };
  }

  it("pays, then ships; each bumps the version", async () => {
    const { order } = await placed();
    const paid = await h.send("POST", `/orders/${order.id}/pay`, undefined, { "if-match": '"1"' });
    expect(paid.status).toBe(200);
    expect(await paid.json()).toMatchObject({ status: "paid", version: 2 });
    const shipped = await h.send("POST", `/orders/${order.id}/ship`);
    expect(await shipped.json()).toMatchObject({ status: "shipped", version: 3 });
    expect(await row("SELECT status::text, version FROM shop.orders WHERE id = $1", [order.id])).toEqual({
      status: "shipped",
      version: 3,
    });
  });

  it("refuses illegal transitions with 409 and the current state, writes nothing", async () => {
    const { order } = await placed();
    let p = await problem(await h.send("POST", `/orders/${order.id}/ship`), 409);
    expect(p).toMatchObject({ currentStatus: "placed", allowedActions: ["pay", "cancel"] });
    await h.send("POST", `/orders/${order.id}/pay`);
    await h.send("POST", `/orders/${order.id}/ship`);
    p = await problem(await h.send("POST", `/orders/${order.id}/cancel`), 409);
    expect(p).toMatchObject({ currentStatus: "shipped", allowedActions: [] });
    p = await problem(await h.send("POST", `/orders/${order.id}/pay`), 409);
    expect(p.currentStatus).toBe("shipped");
    expect(await row("SELECT status::text, version FROM shop.orders WHERE id = $1", [order.id])).toEqual({
      status: "shipped",
      version: 3,
    });
  });

  it("cancels a placed or paid order and returns its units to stock; a cancelled order cannot be paid", async () => {
    const { order, product } = await placed(10, 4);
    expect((await row("SELECT stock FROM shop.products WHERE id = $1", [product.id])).stock).toBe(6);
    await h.send("POST", `/orders/${order.id}/pay`);
    const res = await h.send("POST", `/orders/${order.id}/cancel`);
    expect(await res.json()).toMatchObject({ status: "cancelled" });
    expect((await row("SELECT stock FROM shop.products WHERE id = $1", [product.id])).stock).toBe(10);
    const p = await problem(await h.send("POST", `/orders/${order.id}/pay`), 409);
    expect(p.currentStatus).toBe("cancelled");
  });

  it("refuses a transition with a stale If-Match (409) and an unknown order (404)", async () => {
    const { order } = await placed();
    await h.send("POST", `/orders/${order.id}/pay`);
    const p = await problem(await h.send("POST", `/orders/${order.id}/ship`, undefined, { "if-match": '"1"' }), 409);
    expect(p.currentVersion).toBe(2);
    expect((await row("SELECT status::text FROM shop.orders WHERE id = $1", [order.id])).status).toBe("paid");
    await problem(await h.send("POST", `/orders/${MISSING}/pay`), 404);
  });
});

describe("operations endpoints", () => {
  it("/health and /ready answer 200 without a token", async () => {
    expect((await h.app.request("/health")).status).toBe(200);
    const ready = await h.app.request("/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", postgres: "ok" });
  });

  it("/metrics counts requests by route pattern and status", async () => {
    await h.send("POST", `/orders/${MISSING}/pay`);
    const text = await (await h.app.request("/metrics")).text();
    expect(text).toMatch(
      /sidecar_write_http_requests_total\{method="POST",route="\/orders\/:id\/pay",status="404"\} \d+/,
    );
    expect(text).toMatch(
      /sidecar_write_http_request_duration_seconds_bucket\{le="[0-9.]+",method="POST",route="\/customers",status="201"\}/,
    );
  });

  it("/openapi.json documents every command from the zod schemas", async () => {
    const doc = await (await h.app.request("/openapi.json")).json();
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/customers",
        "/customers/{id}",
        "/orders",
        "/orders/{id}/cancel",
        "/orders/{id}/pay",
        "/orders/{id}/ship",
        "/products",
        "/products/{id}/price",
        "/products/{id}/stock-adjustments",
      ].sort(),
    );
    expect(doc.components.schemas.PlaceOrder.properties.lines.minItems).toBe(1);
    expect(doc.components.schemas.PlaceOrder.additionalProperties).toBe(false);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
  });
});
