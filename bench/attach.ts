/**
 * Attach benchmark (issue 15): the sidecar's own snapshot (exported slot snapshot → COPY →
 * ClickHouse, Debezium streaming from the slot), two cases in one run:
 *   - big: one N-row table (default 1,000,000) of 7 columns: attach seconds (slot, connector,
 *     copy), snapshot rows/s, then a full `verify` (must be clean);
 *   - small: a schema of 15 small tables (≈ 50,000 rows in all): attach seconds (target < 10 s);
 *   - add: `attach --add` of an N-row copy of the big table to the big attachment, while it
 *     streams (the sidecar's copy in a temporary slot's snapshot), then verify; side by side, the
 *     path it replaced: --add of a 100,000-row table with a `money` column, which the copy does
 *     not render, so Debezium's incremental snapshot reads it.
 * Debezium's own snapshot (the path this replaced) measured 3.3–3.8k rows/s here (docs/performance.md).
 *
 *   npx tsx bench/attach.ts [--rows 1000000] [--only big|small|add]
 *
 * Writes bench/results/attach.json. Uses its own attachment names, topic prefix, consumer group
 * and chDB directory, and removes them (connector, slot, publication, schema, topics) afterwards.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { addTables } from "../src/attach/add-tables.js";
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

/** attach --add of `table` (made by `create`) to the attachment `name`, timed, then verified. */
async function addCase(ch: ClickHouse, name: string, table: string, rows: number, create: string) {
  await pool.query(create);
  await pool.query(`VACUUM ANALYZE ${schema}.${table}`);
  const t0 = now();
  const out: string[] = [];
  await addTables(
    { pool, admin, connect, config, clickhouse: ch, io: { out: (l) => out.push(l) } },
    { name, tables: [{ schema, table }], stallMs: 600_000 },
  );
  const seconds = (now() - t0) / 1000;
  const report = await verifyAttachment(
    pool,
    { kind: "clickhouse", client: ch, database: config.CLICKHOUSE_DATABASE },
    name,
  );
  if (!report.ok)
    throw new Error(`verify after --add found differences: ${JSON.stringify(report.tables).slice(0, 500)}`);
  const path = out.some((l) => l.includes("snapshotted by Debezium"))
    ? "Debezium incremental snapshot"
    : "sidecar copy";
  return { rows, path, addSeconds: seconds, rowsPerSecond: Math.round(rows / seconds), verify: "clean" };
}

const addedCopy = (rows: number) =>
  `CREATE TABLE ${schema}.added (LIKE ${schema}.orders INCLUDING ALL);
   INSERT INTO ${schema}.added SELECT * FROM ${schema}.orders WHERE id <= ${rows}`;
const addedMoney = (rows: number) =>
  `CREATE TABLE ${schema}.added_money (id bigint PRIMARY KEY, price money NOT NULL, note text);
   INSERT INTO ${schema}.added_money SELECT g, g / 100.0, 'note ' || g FROM generate_series(1, ${rows}) g`;

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
  if (!args.only || args.only === "big") {
    console.log(`creating ${schema}.orders with ${N.toLocaleString("en-US")} rows…`);
    await createBig();
    result.big = await runCase(ch, names[0]!, [{ schema, table: "orders" }], N);
    console.log(JSON.stringify(result.big));
  }
  if (!args.only || args.only === "add") {
    if (!result.big) {
      await createBig();
      result.big = await runCase(ch, names[0]!, [{ schema, table: "orders" }], N);
    }
    result.add = await addCase(ch, names[0]!, "added", N, addedCopy(N));
    console.log(JSON.stringify(result.add));
    const baseline = Math.min(N, 100_000);
    result.addDebeziumBaseline = await addCase(ch, names[0]!, "added_money", baseline, addedMoney(baseline));
    console.log(JSON.stringify(result.addDebeziumBaseline));
  }
  if (!args.only || args.only === "small") {
    await createSmall();
    const tables = Array.from({ length: 15 }, (_, i) => ({ schema: small, table: `t${i + 1}` }));
    result.small = await runCase(ch, names[1]!, tables, 5 * 6000 + 10 * 2000);
    console.log(JSON.stringify(result.small));
  }
  mkdirSync("bench/results", { recursive: true });
  // --only runs one case: the others' figures from an earlier run stay in the file.
  const file = "bench/results/attach.json";
  const earlier = args.only && existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as object) : {};
  writeFileSync(file, `${JSON.stringify({ ...earlier, ...result }, null, 2)}\n`);
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
