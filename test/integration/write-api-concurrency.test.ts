import { randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/shared/config.js";
import { createLogger } from "../../src/shared/logger.js";
import { createPgPool } from "../../src/shared/postgres.js";
import { createWriteApp } from "../../src/write/app.js";
import { startWriteApi } from "../../src/write/server.js";
import { stackEnv } from "../helpers/stack.js";
import { TOKEN, type WriteHarness, writeHarness } from "../helpers/write-api.js";

/** Races, idempotent retries, auth, and a database that is not there. */
let h: WriteHarness;
beforeAll(async () => {
  h = await writeHarness();
});
afterAll(async () => {
  await h?.close();
});

async function stockOf(id: string): Promise<number> {
  return (await h.pool.query("SELECT stock FROM shop.products WHERE id = $1", [id])).rows[0].stock;
}

describe("stock race", () => {
  it("two concurrent orders for the last unit: exactly one succeeds (10 products at once)", async () => {
    const c = await h.customer();
    const products = await Promise.all(Array.from({ length: 10 }, () => h.product({ stock: 1 })));
    const order = (productId: string) =>
      h.send("POST", "/orders", { customerId: c.id, lines: [{ productId, quantity: 1 }] });
    const pairs = await Promise.all(products.map((p) => Promise.all([order(p.id), order(p.id)])));
    for (const [i, pair] of pairs.entries()) {
      const id = products[i]?.id as string;
      expect(pair.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(await stockOf(id)).toBe(0);
      expect(await h.count("SELECT 1 FROM shop.order_lines WHERE product_id = $1", [id])).toBe(1);
    }
  });

  it("40 concurrent orders of 1-3 units for 25 units: the winners take exactly the stock, never below 0", async () => {
    const c = await h.customer();
    const p = await h.product({ stock: 25 });
    const other = await h.product({ stock: 1000 });
    const quantities = Array.from({ length: 40 }, (_, i) => (i % 3) + 1);
    const results = await Promise.all(
      quantities.map(async (quantity, i) => {
        // Half the orders also take another product, listed first or last, to exercise lock ordering.
        const lines = [{ productId: p.id, quantity }];
        if (i % 2 === 0) lines[i % 4 === 0 ? "unshift" : "push"]({ productId: other.id, quantity: 1 });
        const res = await h.send("POST", "/orders", { customerId: c.id, lines });
        return { quantity, status: res.status };
      }),
    );
    for (const r of results) expect([201, 409]).toContain(r.status);
    const taken = results.filter((r) => r.status === 201).reduce((sum, r) => sum + r.quantity, 0);
    const stock = await stockOf(p.id);
    expect(stock).toBeGreaterThanOrEqual(0);
    expect(taken + stock).toBe(25);
    // Every refused order asked for more than what was left at the end (it was refused for a real shortage).
    for (const r of results.filter((x) => x.status === 409)) expect(r.quantity).toBeGreaterThan(stock);
    const { rows } = await h.pool.query(
      "SELECT coalesce(sum(quantity), 0)::int AS q, count(*)::int AS n FROM shop.order_lines WHERE product_id = $1",
      [p.id],
    );
    expect(rows[0]).toEqual({ q: taken, n: results.filter((r) => r.status === 201).length });
    expect(await h.count("SELECT 1 FROM shop.orders WHERE customer_id = $1", [c.id])).toBe(rows[0].n);
  });
});

describe("Idempotency-Key", () => {
  it("a retry returns the first answer and writes nothing more", async () => {
    const c = await h.customer();
    const p = await h.product({ stock: 10 });
    const key = randomUUID();
    const body = { customerId: c.id, lines: [{ productId: p.id, quantity: 2 }] };
    const first = await h.send("POST", "/orders", body, { "idempotency-key": key });
    expect(first.status).toBe(201);
    const firstBody = await first.json();
    const retry = await h.send("POST", "/orders", body, { "idempotency-key": key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    const retryBody = await retry.json();
    const { consistencyToken: _a, ...firstRest } = firstBody;
    const { consistencyToken: _b, ...retryRest } = retryBody;
    expect(retryRest).toEqual(firstRest);
    expect(retry.headers.get("x-consistency-token")).toBe(retryBody.consistencyToken);
    expect(await h.count("SELECT 1 FROM shop.orders WHERE customer_id = $1", [c.id])).toBe(1);
    expect(await stockOf(p.id)).toBe(8);
  });

  it("concurrent retries with one key run the command once", async () => {
    const c = await h.customer();
    const p = await h.product({ stock: 10 });
    const key = randomUUID();
    const body = { customerId: c.id, lines: [{ productId: p.id, quantity: 1 }] };
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => h.send("POST", "/orders", body, { "idempotency-key": key })),
    );
    const ids = new Set(await Promise.all(answers.map(async (r) => (await r.json()).id)));
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(ids.size).toBe(1);
    expect(await h.count("SELECT 1 FROM shop.orders WHERE customer_id = $1", [c.id])).toBe(1);
    expect(await stockOf(p.id)).toBe(9);
  });

  it("the same key with a different body is a 422 and writes nothing", async () => {
    const c = await h.customer();
    const p = await h.product({ stock: 10 });
    const key = randomUUID();
    expect(
      (
        await h.send(
          "POST",
          "/orders",
          { customerId: c.id, lines: [{ productId: p.id, quantity: 1 }] },
          { "idempotency-key": key },
        )
      ).status,
    ).toBe(201);
    const reused = await h.send(
      "POST",
      "/orders",
      { customerId: c.id, lines: [{ productId: p.id, quantity: 3 }] },
      { "idempotency-key": key },
    );
    expect(reused.status).toBe(422);
    expect((await reused.json()).errors).toEqual([
      { field: "idempotency-key", reason: "already used with a different request" },
    ]);
    const otherPath = await h.send(
      "POST",
      "/customers",
      { email: `k-${h.run}@example.com`, name: "n" },
      { "idempotency-key": key },
    );
    expect(otherPath.status).toBe(422);
    expect(await h.count("SELECT 1 FROM shop.orders WHERE customer_id = $1", [c.id])).toBe(1);
    expect(await h.count("SELECT 1 FROM shop.customers WHERE email = $1", [`k-${h.run}@example.com`])).toBe(0);
    expect(await stockOf(p.id)).toBe(9);
  });

  it("a failed command stores nothing: the same key works once the cause is fixed", async () => {
    const c = await h.customer();
    const p = await h.product({ stock: 0 });
    const key = randomUUID();
    const body = { customerId: c.id, lines: [{ productId: p.id, quantity: 1 }] };
    expect((await h.send("POST", "/orders", body, { "idempotency-key": key })).status).toBe(409);
    expect(await h.count("SELECT 1 FROM sidecar.idempotency_keys WHERE key = $1", [key])).toBe(0);
    await h.send("POST", `/products/${p.id}/stock-adjustments`, { delta: 1 });
    expect((await h.send("POST", "/orders", body, { "idempotency-key": key })).status).toBe(201);
    expect((await h.send("POST", "/orders", body, { "idempotency-key": key })).status).toBe(201);
    expect(await h.count("SELECT 1 FROM shop.orders WHERE customer_id = $1", [c.id])).toBe(1);
  });

  it("replays a state transition instead of answering 409", async () => {
    const c = await h.customer();
    const p = await h.product();
    const order = await (
      await h.send("POST", "/orders", { customerId: c.id, lines: [{ productId: p.id, quantity: 1 }] })
    ).json();
    const key = `"${randomUUID()}"`; // structured-field string form is accepted too
    expect((await h.send("POST", `/orders/${order.id}/pay`, undefined, { "idempotency-key": key })).status).toBe(200);
    const again = await h.send("POST", `/orders/${order.id}/pay`, undefined, { "idempotency-key": key });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: "paid", version: 2 });
    expect((await h.pool.query("SELECT version FROM shop.orders WHERE id = $1", [order.id])).rows[0].version).toBe(2);
  });
});

describe("bearer token", () => {
  const body = () => ({ email: `auth-${randomUUID()}@example.com`, name: "n" });

  it("refuses a command without a token (401, WWW-Authenticate) and writes nothing", async () => {
    const b = body();
    const res = await h.app.request("/customers", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(b),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    expect(await h.count("SELECT 1 FROM shop.customers WHERE email = $1", [b.email])).toBe(0);
  });

  it("refuses a wrong token, a token of another length and a non-Bearer scheme, and never echoes the token", async () => {
    for (const authorization of [
      `Bearer ${TOKEN.slice(0, -1)}x`,
      `Bearer ${TOKEN}extra`,
      "Bearer x",
      `Basic ${TOKEN}`,
      `Bearer`,
    ]) {
      const b = body();
      const res = await h.app.request("/customers", {
        method: "POST",
        headers: { "content-type": "application/json", authorization },
        body: JSON.stringify(b),
      });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(TOKEN.slice(12));
      expect(await h.count("SELECT 1 FROM shop.customers WHERE email = $1", [b.email])).toBe(0);
    }
  });

  it("health, readiness, metrics and the OpenAPI document stay open", async () => {
    for (const path of ["/health", "/ready", "/metrics", "/openapi.json"])
      expect((await h.app.request(path)).status).toBe(200);
  });
});

describe("Postgres unreachable", () => {
  it("commands answer 503 with Retry-After, quickly; /ready answers 503", async () => {
    const config = loadConfig({ DATABASE_URL: "postgres://postgres:postgres@127.0.0.1:1/shop", API_TOKEN: TOKEN });
    const pool = createPgPool(config.DATABASE_URL, { max: 2 });
    const app = createWriteApp({ pool, config, log: createLogger("silent"), registry: new Registry() });
    try {
      const started = Date.now();
      const res = await app.request("/customers", {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ email: `down-${h.run}@example.com`, name: "n" }),
      });
      expect(res.status).toBe(503);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(Date.now() - started).toBeLessThan(5_000);
      const ready = await app.request("/ready");
      expect(ready.status).toBe(503);
      expect((await app.request("/health")).status).toBe(200);
    } finally {
      await pool.end();
    }
  });

  it("a Postgres that accepts TCP but never answers is a 503 within the connect timeout, not a hang", async () => {
    const net = await import("node:net");
    const sockets: import("node:net").Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as import("node:net").AddressInfo).port;
    const config = loadConfig({
      DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${port}/shop`,
      API_TOKEN: TOKEN,
    });
    const pool = createPgPool(config.DATABASE_URL, { max: 2 });
    const app = createWriteApp({ pool, config, log: createLogger("silent"), registry: new Registry() });
    try {
      const started = Date.now();
      const res = await app.request(`/orders/${randomUUID()}/pay`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBeTruthy();
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
      await pool.end();
    }
  });
});

describe("startWriteApi", () => {
  it("serves the app on a port and closes cleanly", async () => {
    const env = stackEnv();
    const config = loadConfig({ DATABASE_URL: env.DATABASE_URL, API_TOKEN: TOKEN, WRITE_API_PORT: "3999" });
    const api = await startWriteApi(config, { port: 0, log: createLogger("silent"), registry: new Registry() });
    try {
      const res = await fetch(`${api.url}/customers`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ email: `server-${h.run}@example.com`, name: "Served" }),
      });
      expect(res.status).toBe(201);
      expect(res.headers.get("x-consistency-token")).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect((await fetch(`${api.url}/ready`)).status).toBe(200);
    } finally {
      await api.close();
    }
    await expect(fetch(`${api.url}/health`)).rejects.toThrow();
  });
});
