import { randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { loadConfig } from "../../src/shared/config.js";
import { createLogger } from "../../src/shared/logger.js";
import { createPgPool, type PgPool } from "../../src/shared/postgres.js";
import { createWriteApp } from "../../src/write/app.js";
import { migrate } from "../../src/write/migrate.js";
import { stackEnv } from "./stack.js";

/**
 * The write API in-process (app.request, no port) over the real Postgres of the stack,
 * with its own token, registry and a run-unique suffix for emails and SKUs.
 */
export const TOKEN = `test-token-${randomUUID()}`;

export interface WriteHarness {
  app: ReturnType<typeof createWriteApp>;
  pool: PgPool;
  registry: Registry;
  run: string;
  /** JSON command with the bearer token. */
  send: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Response>;
  /** One row count of a query against Postgres. */
  count: (sql: string, params?: unknown[]) => Promise<number>;
  customer: (overrides?: Partial<{ email: string; name: string }>) => Promise<Record<string, any>>;
  product: (
    overrides?: Partial<{ sku: string; name: string; price: string; stock: number }>,
  ) => Promise<Record<string, any>>;
  close: () => Promise<void>;
}

export async function writeHarness(opts: { maxBodyBytes?: number } = {}): Promise<WriteHarness> {
  const env = stackEnv();
  const config = loadConfig({
    DATABASE_URL: env.DATABASE_URL,
    API_TOKEN: TOKEN,
    WRITE_API_MAX_BODY_BYTES: opts.maxBodyBytes ? String(opts.maxBodyBytes) : undefined,
  });
  const pool = createPgPool(config.DATABASE_URL, { max: 40, applicationName: "test-write-api" });
  await migrate(pool);
  const registry = new Registry();
  const app = createWriteApp({ pool, config, log: createLogger("silent"), registry });
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  let seq = 0;

  const send: WriteHarness["send"] = async (method, path, body, headers = {}) =>
    app.request(path, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });

  const count: WriteHarness["count"] = async (sql, params = []) => {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) AS q`, params);
    return rows[0]?.n ?? 0;
  };

  const customer: WriteHarness["customer"] = async (overrides = {}) => {
    const res = await send("POST", "/customers", {
      email: `c${++seq}-${run}@example.com`,
      name: "Test Customer",
      ...overrides,
    });
    if (res.status !== 201) throw new Error(`customer: ${res.status} ${await res.text()}`);
    return res.json();
  };

  const product: WriteHarness["product"] = async (overrides = {}) => {
    const res = await send("POST", "/products", {
      sku: `SKU-${run}-${++seq}`,
      name: "Test Product",
      price: "10.00",
      stock: 10,
      ...overrides,
    });
    if (res.status !== 201) throw new Error(`product: ${res.status} ${await res.text()}`);
    return res.json();
  };

  return { app, pool, registry, run, send, count, customer, product, close: () => pool.end() };
}
