import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { openClickHouse } from "../../src/clickhouse/client.js";
import { type Projector, startProjector } from "../../src/projector/projector.js";
import { loadConfig } from "../../src/shared/config.js";
import { createLogger } from "../../src/shared/logger.js";
import { parseLsn } from "../../src/shared/lsn.js";
import { stackEnv } from "../helpers/stack.js";

/**
 * Two projector instances in one consumer group share the demo topics' partitions. Each must
 * still publish a watermark that covers a write, counting the other's partitions as applied up
 * to the group's committed offsets; otherwise a read with a token could never be answered.
 */
describe("projectors sharing a consumer group", () => {
  const env = stackEnv();
  const id = randomUUID().slice(0, 8);
  const dir = mkdtempSync(join(tmpdir(), "group-chdb-"));
  const projectors: Projector[] = [];
  let ch: Awaited<ReturnType<typeof openClickHouse>> | undefined;

  afterAll(async () => {
    for (const p of projectors) await p.stop();
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("both instances' watermarks reach a write's token", async () => {
    const config = loadConfig({
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      CLICKHOUSE_URL: `chdb:${dir}`,
      CLICKHOUSE_DATABASE: `g_${id}`,
      PROJECTOR_GROUP: `group-test-${id}`,
      LOG_LEVEL: "warn",
    });
    ch = await openClickHouse(config.CLICKHOUSE_URL);
    const log = createLogger("warn");
    for (let i = 0; i < 2; i++)
      projectors.push(await startProjector(config, { clickhouse: ch, log, registry: new Registry() }));

    const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
    let token: bigint;
    try {
      const client = await pool.connect();
      try {
        await client.query("INSERT INTO shop.customers (email, name) VALUES ($1, 'Group')", [
          `group-${id}@example.test`,
        ]);
        token = parseLsn((await client.query("SELECT pg_current_wal_insert_lsn()::text AS l")).rows[0].l);
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }
    const reached = await Promise.all(projectors.map((p) => p.waitForLsn(token, 90_000)));
    for (const w of reached) expect(w.lsn >= token).toBe(true);
    const rows = await ch.query({
      query: `SELECT count() AS n FROM g_${id}.shop__customers FINAL WHERE email = {e:String} AND _deleted = 0`,
      query_params: { e: `group-${id}@example.test` },
      format: "JSONEachRow",
    });
    expect(Number(((await rows.json()) as { n: string }[])[0]!.n)).toBe(1);
  });
});
