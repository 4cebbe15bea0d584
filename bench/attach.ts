/**
 * Attach benchmark (issue 15): the sidecar's own snapshot (exported slot snapshot → COPY →
 * ClickHouse, Debezium streaming from the slot), two cases in one run:
 *   - big: one N-row table (default 1,000,000) of 7 columns: attach seconds (slot, connector,
 *     copy), snapshot rows/s, then a full `verify` (must be clean);
 *   - small: a schema of 15 small tables (≈ 50,000 rows in all): attach seconds (target < 10 s).
 * Debezium's own snapshot (the path this replaced) measured 3.3–3.8k rows/s here (docs/performance.md).
 *
 *   npx tsx bench/attach.ts [--rows 1000000] [--only big|small]
 *
 * Writes bench/results/attach.json. Uses its own attachment names, topic prefix, consumer group
 * and chDB directory, and removes them (connector, slot, publication, schema, topics) afterwards.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { attach, detach } from "../src/attach/attach.js";
import { verifyAttachment } from "../src/attach/verify.js";
import { type ClickHouse, openClickHouse } from "../src/clickhouse/client.js";
import { ConnectClient } from "../src/connect/connect-client.js";
import { startProjector } from "../src/projector/projector.js";
import { loadConfig } from "../src/shared/config.js";
import { createKafka } from "../src/shared/kafka.js";
import { createLogger } from "../src/shared/logger.js";
import { createPgPool } from "../src/shared/postgres.js";

const { values: args } = parseArgs({
  options: { rows: { type: "string", default: "1000000" }, only: { type: "string" } },
});
const N = Number(args.rows);
const id = randomBytes(3).toString("hex");
const schema = `battach_${id}`;
const small = `bsmall_${id}`;
const chdbDir = mkdtempSync(join(os.tmpdir(), "bench-attach-chdb-"));
const config = loadConfig({
  ...process.env,
  CLICKHOUSE_URL: `chdb:${chdbDir}`,
  TOPIC_PREFIX: `ba_${id}`,
  PROJECTOR_GROUP: `bench-attach-${id}`,
  DLQ_TOPIC: `ba_${id}.dlq`,
  LOG_LEVEL: "warn",
});
const log = createLogger("warn");
const pool = createPgPool(config.DATABASE_URL, { max: 4 });
const kafka = createKafka(config.KAFKA_BROKERS, "bench-attach");
const admin = kafka.admin();
const connect = new ConnectClient(config.KAFKA_CONNECT_URL);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const names = [`bench_${id}`, `benchs_${id}`];

async function createBig() {
  // Its own session without the pool's statement timeout: 10M rows take minutes to write.
  const c = new pg.Client({ connectionString: config.DATABASE_URL });
  await c.connect();
  await c.query(`CREATE SCHEMA ${schema}`);
  await c.query(
    `CREATE TABLE ${schema}.orders (id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
       total numeric(12, 2) NOT NULL, placed_at timestamptz NOT NULL, note text, tags text[])`,
  );
  // In 1M-row statements: one huge INSERT holds every row's WAL in one transaction.
  for (let from = 1; from <= N; from += 1_000_000) {
    const to = Math.min(N, from + 999_999);
    await c.query(
      `INSERT INTO ${schema}.orders SELECT g, g % 10000, (ARRAY['placed','paid','shipped'])[1 + g % 3], (g % 100000) / 100.0,
              timestamptz '2024-01-01Z' + g * interval '1 second', CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || g END,
              ARRAY['a' || (g % 7)] FROM generate_series(${from}, ${to}) g`,
    );
  }
  await c.query(`VACUUM ANALYZE ${schema}.orders`);
  await c.end();
}

async function createSmall() {
  await pool.query(`CREATE SCHEMA ${small}`);
  for (let i = 1; i <= 15; i++) {
    await pool.query(
      `CREATE TABLE ${small}.t${i} (id int PRIMARY KEY, name text NOT NULL, amount numeric(10, 2), at timestamptz, flag boolean)`,
    );
    await pool.query(
      `INSERT INTO ${small}.t${i} SELECT g, 'n' || g, g / 10.0, timestamptz '2024-01-01Z' + g * interval '1 min', g % 2 = 0
         FROM generate_series(1, ${i <= 5 ? 6000 : 2000}) g`,
    );
  }
}

async function runCase(ch: ClickHouse, name: string, tables: { schema: string; table: string }[], rows: number) {
  const t0 = now();
  const out: string[] = [];
  await attach(
    { pool, admin, connect, config, clickhouse: ch, io: { out: (l) => out.push(l) } },
    { name, tables, stallMs: 600_000 },
  );
  const attachedAt = now();
  const copied = out.find((l) => l.startsWith("snapshot copied"));
  const report = await verifyAttachment(
    pool,
    { kind: "clickhouse", client: ch, database: config.CLICKHOUSE_DATABASE },
    name,
  );
  const verifiedAt = now();
  if (!report.ok) throw new Error(`verify found differences: ${JSON.stringify(report.tables[0]).slice(0, 500)}`);
  const attachSeconds = (attachedAt - t0) / 1000;
  return {
    rows,
    tables: tables.length,
    attachSeconds,
    rowsPerSecond: Math.round(rows / attachSeconds),
    copyLine: copied,
    verifySeconds: (verifiedAt - attachedAt) / 1000,
    verify: "clean",
  };
}

async function main() {
  await admin.connect();
  const ch = await openClickHouse(config.CLICKHOUSE_URL);
  const projectorP = startProjector(config, { clickhouse: ch, log });
  const result: Record<string, unknown> = {
    benchmark: "attach",
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, clickhouse: "chdb (embedded)" },
    debeziumSnapshotBefore: "3.3–3.8k rows/s (200,000 rows: 61 s; 1,000,000: 264 s); 15 small tables: 119 s",
  };
  if (args.only !== "small") {
    console.log(`creating ${schema}.orders with ${N.toLocaleString("en-US")} rows…`);
    await createBig();
    result.big = await runCase(ch, names[0]!, [{ schema, table: "orders" }], N);
    console.log(JSON.stringify(result.big));
  }
  if (args.only !== "big") {
    await createSmall();
    const tables = Array.from({ length: 15 }, (_, i) => ({ schema: small, table: `t${i + 1}` }));
    result.small = await runCase(ch, names[1]!, tables, 5 * 6000 + 10 * 2000);
    console.log(JSON.stringify(result.small));
  }
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/attach.json", `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  await (await projectorP).stop();
  await ch.close();
  await sleep(0);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const name of names)
      await detach({ pool, connect, io: { out: () => undefined } }, name).catch((e) =>
        console.error("detach:", e.message),
      );
    for (const s of [schema, small]) await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
    const mine = (await admin.listTopics().catch(() => [] as string[])).filter((t) => t.startsWith(`ba_${id}.`));
    if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await admin.deleteGroups([config.PROJECTOR_GROUP]).catch(() => undefined);
    await admin.disconnect();
    await pool.end();
    rmSync(chdbDir, { recursive: true, force: true });
    process.exit();
  });
