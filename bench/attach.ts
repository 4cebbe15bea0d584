/**
 * Attach benchmark (issue 6): snapshot of one N-row table (default 1,000,000), measured in one run:
 *   - debezium: from registering the connector until the table's topic holds N events
 *     (Debezium alone putting the snapshot on Kafka);
 *   - projected: until the projector's group has committed N events (rows in ClickHouse);
 *   - verified: until `verify` reports no difference (projection + a full row-by-row verify).
 * Target: projected within 1.2x of debezium (the projector is never the bottleneck).
 *
 *   npx tsx bench/attach.ts [--rows 1000000]
 *
 * Writes bench/results/attach.json. Uses its own attachment name, topic prefix, consumer group
 * and chDB directory, and removes them (connector, slot, publication, schema, topics) afterwards.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { attach, detach } from "../src/attach/attach.js";
import { verifyAttachment } from "../src/attach/verify.js";
import { openClickHouse } from "../src/clickhouse/client.js";
import { ConnectClient } from "../src/connect/connect-client.js";
import { startProjector } from "../src/projector/projector.js";
import { loadConfig } from "../src/shared/config.js";
import { createKafka } from "../src/shared/kafka.js";
import { createLogger } from "../src/shared/logger.js";
import { createPgPool } from "../src/shared/postgres.js";

const { values: args } = parseArgs({ options: { rows: { type: "string", default: "1000000" } } });
const N = Number(args.rows);
const id = randomBytes(3).toString("hex");
const name = `bench_${id}`;
const schema = `battach_${id}`;
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
const topic = `${config.TOPIC_PREFIX}.${schema}.orders`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

async function topicEnd(): Promise<number> {
  const offs = await admin.fetchTopicOffsets(topic).catch(() => []);
  return offs.reduce((s, o) => s + Number(o.high), 0);
}

async function main() {
  await admin.connect();
  console.log(`creating ${schema}.orders with ${N.toLocaleString("en-US")} rows…`);
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(
    `CREATE TABLE ${schema}.orders (id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
       total numeric(12, 2) NOT NULL, placed_at timestamptz NOT NULL, note text, tags text[])`,
  );
  await pool.query(
    `INSERT INTO ${schema}.orders SELECT g, g % 10000, (ARRAY['placed','paid','shipped'])[1 + g % 3], (g % 100000) / 100.0,
            timestamptz '2024-01-01Z' + g * interval '1 second', CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || g END,
            ARRAY['a' || (g % 7)] FROM generate_series(1, ${N}) g`,
  );
  await pool.query(`ANALYZE ${schema}.orders`);

  const ch = await openClickHouse(config.CLICKHOUSE_URL);
  const projectorP = startProjector(config, { clickhouse: ch, log });
  const t0 = now();
  let debeziumAt: number | undefined;
  let stopWatch = false;
  const watch = (async () => {
    while (!stopWatch && debeziumAt === undefined) {
      if ((await topicEnd()) >= N) debeziumAt = now();
      else await sleep(200);
    }
  })();
  const out: string[] = [];
  await attach(
    { pool, admin, connect, config, clickhouse: ch, io: { out: (l) => out.push(l) } },
    { name, tables: [{ schema, table: "orders" }], stallMs: 600_000 },
  );
  const projectedAt = now();
  const projector = await projectorP;
  const report = await verifyAttachment(
    pool,
    { kind: "clickhouse", client: ch, database: config.CLICKHOUSE_DATABASE },
    name,
  );
  const verifiedAt = now();
  stopWatch = true;
  await watch;
  if (!report.ok) throw new Error(`verify found differences: ${JSON.stringify(report.tables[0]).slice(0, 500)}`);
  const s = (t: number | undefined) => (t === undefined ? undefined : (t - t0) / 1000);
  const result = {
    benchmark: "attach",
    at: new Date().toISOString(),
    rows: N,
    debeziumSeconds: s(debeziumAt),
    projectedSeconds: s(projectedAt),
    verifiedSeconds: s(verifiedAt),
    verifySeconds: (verifiedAt - projectedAt) / 1000,
    projectedRatio: debeziumAt ? (projectedAt - t0) / (debeziumAt - t0) : undefined,
    verifiedRatio: debeziumAt ? (verifiedAt - t0) / (debeziumAt - t0) : undefined,
    target: 1.2,
    verifyRowsPerSecond: N / ((verifiedAt - projectedAt) / 1000),
    machine: { cpus: os.cpus().length, node: process.version, clickhouse: "chdb (embedded)" },
  };
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/attach.json", `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  await projector.stop();
  await ch.close();
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await detach({ pool, connect, io: { out: () => undefined } }, name).catch((e) =>
      console.error("detach:", e.message),
    );
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    const mine = (await admin.listTopics().catch(() => [] as string[])).filter((t) => t.startsWith(`ba_${id}.`));
    if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await admin.deleteGroups([config.PROJECTOR_GROUP]).catch(() => undefined);
    await admin.disconnect();
    await pool.end();
    rmSync(chdbDir, { recursive: true, force: true });
    process.exit();
  });
