/**
 * MySQL/MariaDB benchmark (issue 17): one N-row table (default 1,000,000; 7 columns) attached from
 * MariaDB and, in the same run, the same table from Postgres, each through the whole pipeline
 * (connector → Kafka → the projector → chDB):
 *   - snapshot rows/s: attach until every row is in ClickHouse (both the sidecar's own copy:
 *     MariaDB src/mysql/copy.ts, Postgres src/snapshot/; before 6 Dec MariaDB's was Debezium's);
 *   - streaming rows/s: --stream rows (default 200,000) inserted in 10,000-row transactions, from
 *     the first commit until the projector has committed them all;
 *   - freshness: each table's own lag (the read API's freshness.lagMs, through the projector in this
 *     process) sampled every 100 ms for --fresh-seconds (default 20) with both servers idle, then as
 *     long with one-row inserts into both (about 150/s each): MariaDB dated by its connector's
 *     beats (src/projector/binlog-clock.ts), Postgres by the WAL watermark;
 *   - then verify over both tables (must be clean).
 *
 *   node --import tsx bench/mysql.ts [--rows 1000000] [--stream 200000] [--fresh-seconds 20]
 *
 * Needs the stack with MariaDB (make bench starts it: MARIADB=1). Writes bench/results/mysql.json;
 * removes its connectors, database, schema, topics and chDB directory afterwards.
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
import { attachMysql, detachMysql, type MysqlDeps } from "../src/mysql/attach.js";
import { projectedToEnd } from "../src/mysql/binlog.js";
import { openMysql, parseMysqlUrl } from "../src/mysql/source.js";
import { verifyMysqlAttachment } from "../src/mysql/verify.js";
import { type Projector, startProjector } from "../src/projector/projector.js";
import { freshnessBlock } from "../src/read/freshness.js";
import { fromProjectorWatermark } from "../src/read/progress.js";
import { loadConfig } from "../src/shared/config.js";
import { createKafka } from "../src/shared/kafka.js";
import { createLogger } from "../src/shared/logger.js";
import { createPgPool } from "../src/shared/postgres.js";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    stream: { type: "string", default: "200000" },
    "fresh-seconds": { type: "string", default: "20" },
  },
});
const N = Number(args.rows);
const S = Number(args.stream);
const BATCH = 10_000;
const id = randomBytes(3).toString("hex");
const db = `bmy_${id}`;
const chdbDir = mkdtempSync(join(os.tmpdir(), "bench-mysql-chdb-"));
const config = loadConfig({
  ...process.env,
  CLICKHOUSE_URL: `chdb:${chdbDir}`,
  TOPIC_PREFIX: `bm_${id}`,
  PROJECTOR_GROUP: `bench-mysql-${id}`,
  DLQ_TOPIC: `bm_${id}.dlq`,
  LOG_LEVEL: "warn",
});
const source = parseMysqlUrl(process.env.MARIADB_URL ?? "mariadb://root:mariadb@127.0.0.1:53306");
const pg = createPgPool(config.DATABASE_URL, { max: 2 });
const kafka = createKafka(config.KAFKA_BROKERS, "bench-mysql");
const admin = kafka.admin();
const connect = new ConnectClient(config.KAFKA_CONNECT_URL);
const names = { my: `bmy_${id}`, pg: `bpg_${id}` };
const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let my: Awaited<ReturnType<typeof openMysql>> | undefined;

const topicOf = (schema: string) => `${config.TOPIC_PREFIX}.${schema}.orders`;
const high = async (topic: string) =>
  (await admin.fetchTopicOffsets(topic).catch(() => [])).reduce((s, p) => s + Number(p.high), 0);

/** Until the topic holds `events` more messages than `base` and the projector has committed them all. */
async function projected(topic: string, base: number, events: number) {
  while ((await high(topic)) < base + events || !(await projectedToEnd(admin, config.PROJECTOR_GROUP, [topic])))
    await sleep(100);
}

async function streamRows(insertBatch: (from: number, to: number) => Promise<unknown>, topic: string) {
  const base = await high(topic);
  const t0 = now();
  for (let from = N + 1; from <= N + S; from += BATCH) await insertBatch(from, Math.min(N + S, from + BATCH - 1));
  const committed = now();
  await projected(topic, base, S);
  const seconds = (now() - t0) / 1000;
  return { rows: S, seconds, rowsPerSecond: Math.round(S / seconds), writeSeconds: (committed - t0) / 1000 };
}

async function mariadb(deps: MysqlDeps) {
  const pool = deps.pool;
  await pool.query(`CREATE DATABASE ${db}`);
  await pool.query(
    `CREATE TABLE ${db}.orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, status VARCHAR(16) NOT NULL,
       total DECIMAL(12,2) NOT NULL, placed_at DATETIME(6) NOT NULL, note VARCHAR(64), flag TINYINT(1))`,
  );
  const fill = (from: number, to: number) =>
    pool.query(
      `INSERT INTO ${db}.orders SELECT seq, seq % 10000, ELT(1 + seq % 3, 'placed', 'paid', 'shipped'), (seq % 100000) / 100,
         TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND, IF(seq % 5 = 0, NULL, CONCAT('note ', seq)), seq % 2
       FROM ${db}.seq_${from}_to_${to}`,
    );
  for (let from = 1; from <= N; from += 100_000) await fill(from, Math.min(N, from + 99_999));
  const ref = { schema: db, table: "orders" };
  const t0 = now();
  await attachMysql(deps, { name: names.my, tables: [ref] });
  const seconds = (now() - t0) / 1000;
  const snapshot = { rows: N, seconds, rowsPerSecond: Math.round(N / seconds) };
  console.log("MariaDB snapshot", JSON.stringify(snapshot));
  const streaming = await streamRows(fill, topicOf(db));
  console.log("MariaDB streaming", JSON.stringify(streaming));
  return { snapshot, streaming };
}

async function postgres(ch: Awaited<ReturnType<typeof openClickHouse>>) {
  const schema = `bpg_${id}`;
  await pg.query(`CREATE SCHEMA ${schema}`);
  await pg.query(
    `CREATE TABLE ${schema}.orders (id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
       total numeric(12,2) NOT NULL, placed_at timestamp(6) NOT NULL, note varchar(64), flag smallint)`,
  );
  const fill = (from: number, to: number) =>
    pg.query(
      `INSERT INTO ${schema}.orders SELECT g, g % 10000, (ARRAY['placed','paid','shipped'])[1 + g % 3], (g % 100000) / 100.0,
         timestamp '2024-01-01' + g * interval '1 second', CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || g END, g % 2
       FROM generate_series(${from}, ${to}) g`,
    );
  for (let from = 1; from <= N; from += 100_000) await fill(from, Math.min(N, from + 99_999));
  await pg.query(`VACUUM ANALYZE ${schema}.orders`);
  const t0 = now();
  const out: string[] = [];
  await attach(
    { pool: pg, admin, connect, config, clickhouse: ch, io: { out: (l) => out.push(l) } },
    { name: names.pg, tables: [{ schema, table: "orders" }], stallMs: 600_000 },
  );
  const seconds = (now() - t0) / 1000;
  const snapshot = { rows: N, seconds, rowsPerSecond: Math.round(N / seconds) };
  console.log("Postgres snapshot", JSON.stringify(snapshot));
  // The slot streams from the copy's consistent point: wait for the connector's first offset.
  await sleep(2_000);
  const streaming = await streamRows(fill, topicOf(schema));
  console.log("Postgres streaming", JSON.stringify(streaming));
  return { snapshot, streaming };
}

const pct = (xs: number[], p: number) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] : null;

/** Each table's lag as a read of it reports it, idle and under one-row inserts into both sources. */
async function freshness(projector: Projector, deps: MysqlDeps) {
  const tables = { mariadb: `${db}__orders`, postgres: `bpg_${id}__orders` };
  const ms = Number(args["fresh-seconds"]) * 1000;
  let next = N + S + 1;
  const phase = async (load: boolean) => {
    const lag: Record<string, number[]> = { mariadb: [], postgres: [] };
    const end = now() + ms;
    const writer = (async () => {
      while (load && now() < end) {
        const row = next++;
        await deps.pool.query(
          `INSERT INTO ${db}.orders VALUES (?, 1, 'paid', 1.00, TIMESTAMP'2024-01-01 00:00:00', NULL, 0)`,
          [row],
        );
        await pg.query(`INSERT INTO bpg_${id}.orders VALUES ($1, 1, 'paid', 1.00, timestamp '2024-01-01', NULL, 0)`, [
          row,
        ]);
        await sleep(5);
      }
    })();
    while (now() < end) {
      for (const [source, target] of Object.entries(tables)) {
        const block = freshnessBlock(fromProjectorWatermark(projector.watermarkFor([target])));
        if (block.lagMs !== null) lag[source]?.push(block.lagMs);
      }
      await sleep(100);
    }
    await writer;
    const summary = (xs: number[]) => ({ samples: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: pct(xs, 100) });
    return { mariadb: summary(lag.mariadb ?? []), postgres: summary(lag.postgres ?? []) };
  };
  const idle = await phase(false);
  console.log("freshness idle (lag ms)", JSON.stringify(idle));
  const loaded = { rowsEach: 0, ...(await phase(true)) };
  loaded.rowsEach = next - (N + S + 1);
  console.log("freshness under load (lag ms)", JSON.stringify(loaded));
  return { seconds: ms / 1000, idle, loaded };
}

async function main() {
  await admin.connect();
  my = await openMysql(source, 2);
  const ch = await openClickHouse(config.CLICKHOUSE_URL);
  const projectorP = startProjector(config, { clickhouse: ch, log: createLogger("warn") });
  const deps: MysqlDeps = { pool: my, source, admin, connect, config, io: { out: () => undefined }, clickhouse: ch };
  const mariadbResult = await mariadb(deps);
  const postgresResult = await postgres(ch);
  const fresh = await freshness(await projectorP, deps);
  const reader = { kind: "clickhouse" as const, client: ch, database: config.CLICKHOUSE_DATABASE };
  const t0 = now();
  const myReport = await verifyMysqlAttachment(deps, reader, names.my, {
    examples: 3,
    waitMs: 120_000,
    chunkRows: 10_000,
  });
  const myVerify = (now() - t0) / 1000;
  const pgReport = await verifyAttachment(pg, reader, names.pg);
  if (!myReport.ok || !pgReport.ok) throw new Error("verify found differences");
  const result = {
    benchmark: "mysql",
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, clickhouse: "chdb (embedded)", load: os.loadavg() },
    rows: N,
    streamRows: S,
    mariadb: { ...mariadbResult, verifySeconds: myVerify, verify: "clean" },
    postgres: { ...postgresResult, verify: "clean" },
    freshness: fresh,
  };
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/mysql.json", `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  await (await projectorP).stop();
  await ch.close();
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    const quiet = { out: () => undefined };
    if (my) {
      await detachMysql({ pool: my, source, admin, connect, config, io: quiet }, names.my).catch((e) =>
        console.error("detach:", e.message),
      );
      await my.query(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
      await my.end();
    }
    await detach({ pool: pg, connect, io: quiet }, names.pg).catch((e) => console.error("detach:", e.message));
    await pg.query(`DROP SCHEMA IF EXISTS bpg_${id} CASCADE`).catch(() => undefined);
    const mine = (await admin.listTopics().catch(() => [] as string[])).filter((t) => t.startsWith(`bm_${id}.`));
    if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await admin.deleteGroups([config.PROJECTOR_GROUP]).catch(() => undefined);
    await admin.disconnect();
    await pg.end();
    rmSync(chdbDir, { recursive: true, force: true });
    process.exit();
  });
