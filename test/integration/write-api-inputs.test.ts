import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WriteHarness, writeHarness } from "../helpers/write-api.js";

/**
 * Bad inputs: every one is a 4xx problem+json with field and reason, and nothing is
 * written — checked by counting the rows of this run (emails and SKUs carry the run id).
 */
let h: WriteHarness;
let customerId: string;
let productId: string;
beforeAll(async () => {
  h = await writeHarness();
  customerId = (await h.customer()).id;
  productId = (await h.product({ stock: 5 })).id;
});
afterAll(async () => {
  await h?.close();
});

async function snapshot() {
  const { rows } = await h.pool.query(
    `SELECT (SELECT count(*)::int FROM shop.customers WHERE email LIKE '%' || $1 || '%') AS customers,
            (SELECT count(*)::int FROM shop.products WHERE sku LIKE '%' || $1 || '%') AS products,
            (SELECT count(*)::int FROM shop.orders WHERE customer_id = $2) AS orders,
            (SELECT stock FROM shop.products WHERE id = $3) AS stock,
            (SELECT version FROM shop.products WHERE id = $3) AS product_version,
            (SELECT version FROM shop.customers WHERE id = $2) AS customer_version`,
    [h.run, customerId, productId],
  );
  return rows[0];
}

async function expectRefused(res: Response, status: number, field?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  const body = await res.json();
  expect(body.status).toBe(status);
  if (field !== undefined) expect(body.errors.map((e: { field: string }) => e.field)).toContain(field);
  for (const e of body.errors) expect(e).toEqual({ field: expect.any(String), reason: expect.any(String) });
  return body;
}

const HUGE = "x".repeat(1_000_000);

const cases: Array<{ name: string; status: number; field?: string; send: () => Promise<Response> }> = [
  {
    name: "customer: email of the wrong type",
    status: 400,
    field: "email",
    send: () => h.send("POST", "/customers", { email: 42, name: `n-${h.run}` }),
  },
  {
    name: "customer: missing name",
    status: 400,
    field: "name",
    send: () => h.send("POST", "/customers", { email: `m-${h.run}@example.com` }),
  },
  {
    name: "customer: not an email",
    status: 400,
    field: "email",
    send: () => h.send("POST", "/customers", { email: `nope-${h.run}`, name: "n" }),
  },
  {
    name: "customer: extra field",
    status: 400,
    field: "admin",
    send: () => h.send("POST", "/customers", { email: `x-${h.run}@example.com`, name: "n", admin: true }),
  },
  {
    name: "customer: blank name",
    status: 400,
    field: "name",
    send: () => h.send("POST", "/customers", { email: `b-${h.run}@example.com`, name: "   " }),
  },
  {
    name: "customer: 10 kB name",
    status: 400,
    field: "name",
    send: () => h.send("POST", "/customers", { email: `l-${h.run}@example.com`, name: "y".repeat(10_000) }),
  },
  {
    name: "customer: 1 MB string",
    status: 413,
    send: () => h.send("POST", "/customers", { email: `h-${h.run}@example.com`, name: HUGE }),
  },
  {
    name: "customer: body is an array",
    status: 400,
    send: () => h.send("POST", "/customers", [{ email: `a-${h.run}@example.com`, name: "n" }]),
  },
  { name: "customer: body is null", status: 400, send: () => h.send("POST", "/customers", "null") },
  {
    name: "customer update: invalid uuid in path",
    status: 400,
    field: "id",
    send: () => h.send("PATCH", "/customers/not-a-uuid", { name: "n" }),
  },
  {
    name: "customer update: malformed If-Match",
    status: 400,
    field: "if-match",
    send: () => h.send("PATCH", `/customers/${customerId}`, { name: "n" }, { "if-match": "yesterday" }),
  },
  {
    name: "customer update: email null",
    status: 400,
    field: "email",
    send: () => h.send("PATCH", `/customers/${customerId}`, { email: null }),
  },
  {
    name: "product: price as a number",
    status: 400,
    field: "price",
    send: () => h.send("POST", "/products", { sku: `P1-${h.run}`, name: "n", price: 9.99 }),
  },
  {
    name: "product: negative price",
    status: 400,
    field: "price",
    send: () => h.send("POST", "/products", { sku: `P2-${h.run}`, name: "n", price: "-1.00" }),
  },
  {
    name: "product: three decimals",
    status: 400,
    field: "price",
    send: () => h.send("POST", "/products", { sku: `P3-${h.run}`, name: "n", price: "1.001" }),
  },
  {
    name: "product: huge price",
    status: 400,
    field: "price",
    send: () => h.send("POST", "/products", { sku: `P4-${h.run}`, name: "n", price: "123456789012345.00" }),
  },
  {
    name: "product: negative stock",
    status: 400,
    field: "stock",
    send: () => h.send("POST", "/products", { sku: `P5-${h.run}`, name: "n", price: "1.00", stock: -1 }),
  },
  {
    name: "product: fractional stock",
    status: 400,
    field: "stock",
    send: () => h.send("POST", "/products", { sku: `P6-${h.run}`, name: "n", price: "1.00", stock: 1.5 }),
  },
  {
    name: "product: huge stock (1e300)",
    status: 400,
    field: "stock",
    send: () => h.send("POST", "/products", `{"sku":"P7-${h.run}","name":"n","price":"1.00","stock":1e300}`),
  },
  {
    name: "product: stock as a string",
    status: 400,
    field: "stock",
    send: () => h.send("POST", "/products", { sku: `P8-${h.run}`, name: "n", price: "1.00", stock: "5" }),
  },
  {
    name: "product: sku with spaces and quotes",
    status: 400,
    field: "sku",
    send: () => h.send("POST", "/products", { sku: `P9 ${h.run}'; DROP TABLE x;--`, name: "n", price: "1.00" }),
  },
  {
    name: "price change: missing price",
    status: 400,
    field: "price",
    send: () => h.send("PUT", `/products/${productId}/price`, {}),
  },
  {
    name: "stock: huge delta",
    status: 400,
    field: "delta",
    send: () => h.send("POST", `/products/${productId}/stock-adjustments`, { delta: 2 ** 53 }),
  },
  {
    name: "stock: delta as a string",
    status: 400,
    field: "delta",
    send: () => h.send("POST", `/products/${productId}/stock-adjustments`, { delta: "-5" }),
  },
  {
    name: "order: invalid customer uuid",
    status: 400,
    field: "customerId",
    send: () => h.send("POST", "/orders", { customerId: "123", lines: [{ productId, quantity: 1 }] }),
  },
  {
    name: "order: invalid product uuid",
    status: 400,
    field: "lines[0].productId",
    send: () => h.send("POST", "/orders", { customerId, lines: [{ productId: "zzz", quantity: 1 }] }),
  },
  {
    name: "order: negative quantity",
    status: 400,
    field: "lines[0].quantity",
    send: () => h.send("POST", "/orders", { customerId, lines: [{ productId, quantity: -1 }] }),
  },
  {
    name: "order: zero quantity",
    status: 400,
    field: "lines[0].quantity",
    send: () => h.send("POST", "/orders", { customerId, lines: [{ productId, quantity: 0 }] }),
  },
  {
    name: "order: huge quantity",
    status: 400,
    field: "lines[0].quantity",
    send: () => h.send("POST", "/orders", { customerId, lines: [{ productId, quantity: 9_999_999_999 }] }),
  },
  {
    name: "order: quantity as a string",
    status: 400,
    field: "lines[0].quantity",
    send: () => h.send("POST", "/orders", { customerId, lines: [{ productId, quantity: "1" }] }),
  },
  {
    name: "order: extra field on a line",
    status: 400,
    field: "lines[0].discount",
    send: () => h.send("POST", "/orders", { customerId, lines: [{ productId, quantity: 1, discount: 100 }] }),
  },
  { name: "order: lines missing", status: 400, field: "lines", send: () => h.send("POST", "/orders", { customerId }) },
  {
    name: "order: lines not an array",
    status: 400,
    field: "lines",
    send: () => h.send("POST", "/orders", { customerId, lines: { productId, quantity: 1 } }),
  },
  {
    name: "order: 101 lines",
    status: 400,
    field: "lines",
    send: () =>
      h.send("POST", "/orders", { customerId, lines: Array.from({ length: 101 }, () => ({ productId, quantity: 1 })) }),
  },
  {
    name: "order: malformed JSON",
    status: 400,
    field: "(body)",
    send: () => h.send("POST", "/orders", `{"customerId": "${customerId}", "lines": [`),
  },
  {
    name: "order: wrong content type",
    status: 415,
    field: "content-type",
    send: () =>
      h.send("POST", "/orders", JSON.stringify({ customerId, lines: [{ productId, quantity: 1 }] }), {
        "content-type": "text/plain",
      }),
  },
  {
    name: "order: form encoded",
    status: 415,
    send: () =>
      h.send("POST", "/orders", `customerId=${customerId}`, { "content-type": "application/x-www-form-urlencoded" }),
  },
  { name: "order: no body at all", status: 400, send: () => h.send("POST", "/orders") },
  { name: "order action: invalid uuid", status: 400, field: "id", send: () => h.send("POST", "/orders/1/pay") },
  {
    name: "idempotency key too long",
    status: 400,
    field: "idempotency-key",
    send: () =>
      h.send(
        "POST",
        "/orders",
        { customerId, lines: [{ productId, quantity: 1 }] },
        { "idempotency-key": "k".repeat(300) },
      ),
  },
];

describe("bad inputs are refused and write nothing", () => {
  for (const c of cases) {
    it(`${c.name} → ${c.status}`, async () => {
      const before = await snapshot();
      await expectRefused(await c.send(), c.status, c.field);
      expect(await snapshot()).toEqual(before);
    });
  }

  it("a valid order right after all that still works (the fixtures are usable)", async () => {
    const res = await h.send("POST", "/orders", { customerId, lines: [{ productId, quantity: 1 }] });
    expect(res.status).toBe(201);
    expect((await snapshot()).stock).toBe(4);
  });

  it("a body over the limit is a 413 even when streamed without Content-Length", async () => {
    const before = await snapshot();
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.enqueue(new TextEncoder().encode(JSON.stringify({ email: `s-${h.run}@example.com`, name: "n" })));
        controller.close();
      },
    });
    const res = await h.app.request("/customers", {
      method: "POST",
      headers: {
        authorization: `Bearer ${(await import("../helpers/write-api.js")).TOKEN}`,
        "content-type": "application/json",
      },
      body: stream,
      // @ts-expect-error undici needs duplex for a stream body
      duplex: "half",
    });
    await expectRefused(res, 413);
    expect(await snapshot()).toEqual(before);
  });

  it("a declared Content-Length over the limit is a 413 before the body is read", async () => {
    const res = await h.send(
      "POST",
      "/customers",
      { email: `cl-${h.run}@example.com`, name: "n" },
      { "content-length": String(10 * 1024 * 1024) },
    );
    await expectRefused(res, 413);
  });
});
