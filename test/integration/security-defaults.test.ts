import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { networkInterfaces } from "node:os";
import { promisify } from "node:util";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/shared/config.js";
import { createLogger } from "../../src/shared/logger.js";
import { createPgPool, type PgPool } from "../../src/shared/postgres.js";
import { claimKey, pruneIdempotencyKeys } from "../../src/write/idempotency.js";
import { migrate } from "../../src/write/migrate.js";
import { startWriteApi } from "../../src/write/server.js";
import { stackEnv } from "../helpers/stack.js";

/**
 * Safe defaults against the real stack's Postgres: roles listen on loopback unless told,
 * refuse the network without a token (through the real CLI), and expired idempotency keys
 * are pruned (issue 16).
 */
const run = promisify(execFile);
const log = createLogger("silent");
const env = stackEnv();
const tag = `sd-${Date.now().toString(36)}-${randomUUID().slice(0, 6)}`;
let pool: PgPool;

beforeAll(async () => {
  pool = createPgPool(env.DATABASE_URL, { max: 4, applicationName: "test-security-defaults" });
  await migrate(pool);
});
afterAll(async () => {
  await pool.query("DELETE FROM sidecar.idempotency_keys WHERE key LIKE $1", [`${tag}%`]);
  await pool.end();
});

/** Stores a key with its answer, `ageMinutes` old. */
async function storedKey(key: string, ageMinutes: number): Promise<void> {
  await pool.query(
    `INSERT INTO sidecar.idempotency_keys (key, request_hash, status, response, created_at)
     VALUES ($1, 'h', 201, '{}'::jsonb, now() - make_interval(mins => $2))`,
    [key, ageMinutes],
  );
}
async function keysLeft(prefix: string): Promise<string[]> {
  const { rows } = await pool.query<{ key: string }>(
    "SELECT key FROM sidecar.idempotency_keys WHERE key LIKE $1 ORDER BY key",
    [`${prefix}%`],
  );
  return rows.map((r) => r.key);
}

describe("listening", () => {
  it("the write API listens on 127.0.0.1 by default, not on the machine's other addresses", async () => {
    const api = await startWriteApi(loadConfig({ DATABASE_URL: env.DATABASE_URL, LOG_LEVEL: "silent" }), {
      port: 0,
      log,
      registry: new Registry(),
    });
    try {
      expect(api.host).toBe("127.0.0.1");
      expect((await fetch(`http://127.0.0.1:${api.port}/health`)).status).toBe(200);
      const lan = Object.values(networkInterfaces())
        .flat()
        .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
      if (lan) {
        const err = await fetch(`http://${lan}:${api.port}/health`).then(
          () => undefined,
          (e: { cause?: { code?: string } }) => e.cause?.code,
        );
        expect(err).toBe("ECONNREFUSED");
      }
    } finally {
      await api.close();
    }
  });

  it("`cqrs-sidecar run write` on 0.0.0.0 without API_TOKEN refuses to start and says why", async () => {
    const err = await run(process.execPath, ["--import", "tsx", "src/main/cli.ts", "run", "write"], {
      env: { ...process.env, WRITE_API_HOST: "0.0.0.0", WRITE_API_PORT: "3997", API_TOKEN: "", LOG_LEVEL: "info" },
      timeout: 60_000,
    }).then(
      () => undefined,
      (e: { code: number; stderr: string; stdout: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/WRITE_API_HOST=0\.0\.0\.0 is not a loopback address and API_TOKEN is empty/);
    expect(err?.stderr).not.toMatch(/at .*\(.*:\d+:\d+\)/); // one clear message, no stack trace
    expect(err?.stdout).not.toMatch(/listening/);
  });

  it("`cqrs-sidecar run project read` on 0.0.0.0 without READ_API_TOKEN refuses before opening anything", async () => {
    const err = await run(process.execPath, ["--import", "tsx", "src/main/cli.ts", "run", "project", "read"], {
      env: { ...process.env, READ_API_HOST: "0.0.0.0", READ_API_TOKEN: "", CLICKHOUSE_URL: "chdb:/nonexistent/x" },
      timeout: 60_000,
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/READ_API_HOST=0\.0\.0\.0 is not a loopback address and READ_API_TOKEN is empty/);
  });
});

describe("idempotency keys are pruned after WRITE_API_IDEMPOTENCY_TTL_HOURS", () => {
  it("deletes keys older than the TTL, in batches, and keeps younger ones", async () => {
    const p = `${tag}-batch-`;
    for (let i = 0; i < 5; i++) await storedKey(`${p}old-${i}`, 120);
    await storedKey(`${p}young`, 30);
    const deleted = await pruneIdempotencyKeys(pool, 1, 2); // batches of 2: three statements for our five
    expect(deleted).toBeGreaterThanOrEqual(5);
    expect(await keysLeft(p)).toEqual([`${p}young`]);
  });

  it("a key re-claimed by a running command (expired, then used again) survives a prune meanwhile", async () => {
    const key = `${tag}-reclaimed`;
    await storedKey(key, 120);
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      expect(await claimKey(client, key, "new-hash", 1)).toEqual({ claimed: true }); // expired: free again
      await pruneIdempotencyKeys(pool, 1); // does not wait for the command's row lock, skips it
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    const { rows } = await pool.query("SELECT request_hash FROM sidecar.idempotency_keys WHERE key = $1", [key]);
    expect(rows).toEqual([{ request_hash: "new-hash" }]);
    await pruneIdempotencyKeys(pool, 1);
    expect(await keysLeft(key)).toEqual([key]); // created_at is now: young again
  });

  it("the write API prunes when it starts", async () => {
    const key = `${tag}-at-start`;
    await storedKey(key, 90);
    const config = loadConfig({ DATABASE_URL: env.DATABASE_URL, WRITE_API_IDEMPOTENCY_TTL_HOURS: "1" });
    const api = await startWriteApi(config, { port: 0, log, registry: new Registry() });
    try {
      const deadline = Date.now() + 15_000;
      while ((await keysLeft(key)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await keysLeft(key)).toEqual([]);
    } finally {
      await api.close();
    }
  });
});
