/**
 * Peers (issue 7): the projector against ClickHouse's own ways of following Postgres, on the
 * same machine, the same data and in the same run (private native stack):
 *   1. the sidecar: Debezium → Kafka → projector (child process `run project read`) → chDB;
 *   2. ClickHouse's Kafka table engine + a materialized view reading the same Debezium topic
 *      (chDB in this process; JSON envelope parsed with JSONExtract, ReplacingMergeTree by LSN);
 *   3. ClickHouse's MaterializedPostgreSQL database engine replicating the same table straight
 *      from Postgres (its own slot and publication; chDB in this process).
 * The table is `peers_<run>.items` (bigint key, text, int, numeric, timestamptz) with the default
 * replica identity; MaterializedPostgreSQL is also pointed at the shop tables (REPLICA IDENTITY
 * FULL, which Debezium's full before-images need) to record what it says about them.
 *
 * Freshness: one row per transaction at --fresh-rate rows/s for --fresh-seconds; each consumer's
 * max(id) is polled every 20 ms and every newly visible row gets (seen − committed).
 * Throughput: after a warm-up of --warm-rows with every consumer on (cold JVMs stream at a
 * quarter of their warm speed, and 200,000 rows left Connect's JIT compiler threads at 26 µs of
 * CPU per row, 4–6 after 600,000: bench/streaming.ts, docs/performance.md), --rows rows in 10,000-row transactions for each pipeline alone
 * (MaterializedPostgreSQL with the connector paused; the sidecar with MaterializedPostgreSQL
 * dropped): time from the first insert until the consumer holds every row, Debezium's own
 * (rows on the topic), and CPU µs per row of each process.
 *
 *   node --import tsx bench/peers.ts [--rows 200000] [--warm-rows 600000] [--fresh-rate 50] [--fresh-seconds 20]
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { connectorVariables, readConnectorFile, renderConnectorConfig } from "../src/connect/connector-config.js";
import { createKafka } from "../src/shared/kafka.js";
import {
  benchStack,
  cpuSampler,
  type Dist,
  dist,
  insertItems,
  machine,
  request,
  round,
  sleep,
  startSidecar,
  writeResult,
} from "./lib.js";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "200000" },
    "fresh-rate": { type: "string", default: "50" },
    "fresh-seconds": { type: "string", default: "20" },
    "warm-rows": { type: "string", default: "600000" },
    "base-port": { type: "string", default: "26320" },
  },
});
const ROWS = Number(args.rows);
const FRESH_RATE = Number(args["fresh-rate"]);
const FRESH_SECONDS = Number(args["fresh-seconds"]);
const WARM = Number(args["warm-rows"]);

const machineAtStart = machine();
const st = await benchStack(Number(args["base-port"]));
const tag = randomBytes(3).toString("hex");
const schema = `peers_${tag}`;
const prefix = `peers_${tag}`;
const connector = `peers-${tag}`;
const topic = `${prefix}.${schema}.items`;
const pool = new pg.Pool({ connectionString: st.env.DATABASE_URL, max: 4 });
const kafka = createKafka([st.env.KAFKA_BROKERS as string], "bench-peers");
const admin = kafka.admin();
await admin.connect();
const chLog = join(st.dir, `peers-${tag}-clickhouse.log`);
const { Session } = await import("chdb");
const ch = new Session(join(st.dir, `peers-chdb-${tag}`), {
  connectionArgs: [`--logger.log=${chLog}`, "--logger.level=information"],
});
const q = (sql: string): string => ch.query(sql, "TSV").trim();
const tryQ = (sql: string): { ok: true; out: string } | { ok: false; error: string } => {
  try {
    return { ok: true, out: q(sql) };
  } catch (e) {
    return { ok: false, error: String((e as Error).message ?? e) };
  }
};
const pgHost = `127.0.0.1:${st.env.PG_PORT}`;
let slot = "";
let side: Awaited<ReturnType<typeof startSidecar>> | undefined;

/** The Kafka engine's materialized view: the Debezium JSON envelope (its schema in the schema topic) to columns. */
const mvSql = (name: string, target: string, src: string) => `CREATE MATERIALIZED VIEW ${name} TO ${target} AS
      SELECT if(op = 'd', JSONExtract(p, 'before', 'id', 'Int64'), JSONExtract(p, 'after', 'id', 'Int64')) AS id,
             JSONExtractString(p, 'after', 'sku') AS sku, JSONExtract(p, 'after', 'qty', 'Int32') AS qty,
             toDecimal64OrZero(JSONExtractString(p, 'after', 'price'), 2) AS price,
             parseDateTime64BestEffortOrZero(JSONExtractString(p, 'after', 'updated_at'), 6, 'UTC') AS updated_at,
             JSONExtract(p, 'source', 'lsn', 'UInt64') AS _version, toUInt8(op = 'd') AS _deleted
        FROM (SELECT raw AS p, JSONExtractString(raw, 'op') AS op
                FROM ${src} WHERE length(raw) > 0)`;

async function setup(): Promise<void> {
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(`CREATE TABLE ${schema}.items (id bigint PRIMARY KEY, sku text NOT NULL, qty int NOT NULL,
    price numeric(12,2) NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
  await pool.query(`INSERT INTO ${schema}.items (id, sku, qty, price) VALUES (0, 'seed', 0, 0)`);
  // 1. Debezium connector of this run (same template as the demo connector).
  const { template } = await readConnectorFile("connectors/shop.json");
  const vars = connectorVariables({
    databaseUrl: st.env.DATABASE_URL as string,
    topicPrefix: prefix,
    name: connector,
    tables: [`${schema}.items`],
    heartbeatTable: "public.sidecar_heartbeat",
  });
  slot = vars.SLOT_NAME ?? "";
  const put = await request(`${st.env.KAFKA_CONNECT_URL}/connectors/${connector}/config`, {
    method: "PUT",
    body: renderConnectorConfig(template, vars),
  });
  if (put.status >= 300) throw new Error(`connector: ${put.status} ${JSON.stringify(put.json)}`);
  for (let i = 0; ; i++) {
    const offs = await admin.fetchTopicOffsets(topic).catch(() => []);
    if (offs.reduce((s, o) => s + Number(o.high), 0) >= 1) break;
    if (i > 240) throw new Error("the peers connector produced nothing in 120 s");
    await sleep(500);
  }
  // 2. The sidecar's projector on this topic only (its own chDB, group and watermark source).
  side = await startSidecar(st, { PROJECTOR_TOPICS: topic, TOPIC_PREFIX: prefix });
  // 3. ClickHouse Kafka engine + materialized view on the same topic.
  q("CREATE DATABASE peers");
  q(`CREATE TABLE peers.kafka_src (raw String) ENGINE = Kafka SETTINGS
      kafka_broker_list = '${st.env.KAFKA_BROKERS}', kafka_topic_list = '${topic}', kafka_group_name = 'ch-${tag}',
      kafka_format = 'RawBLOB', kafka_flush_interval_ms = 100, kafka_max_block_size = 65536, kafka_poll_timeout_ms = 50`);
  q(`CREATE TABLE peers.kafka_items (id Int64, sku String, qty Int32, price Decimal(12, 2), updated_at DateTime64(6, 'UTC'),
      _version UInt64, _deleted UInt8) ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY id`);
  q(mvSql("peers.kafka_mv", "peers.kafka_items", "peers.kafka_src"));
  // 4. MaterializedPostgreSQL on the same table.
  q("SET allow_experimental_database_materialized_postgresql = 1");
  q(`CREATE DATABASE peers_mpg ENGINE = MaterializedPostgreSQL('${pgHost}', 'shop', 'postgres', 'postgres')
      SETTINGS materialized_postgresql_schema = '${schema}', materialized_postgresql_tables_list = 'items'`);
}

/** MaterializedPostgreSQL on the shop tables (REPLICA IDENTITY FULL): what happens to a change. */
async function mpgOnShopTables(): Promise<{ snapshotRows: number; streamedWithin10s: boolean; log: string[] }> {
  q(`CREATE DATABASE peers_mpg_shop ENGINE = MaterializedPostgreSQL('${pgHost}', 'shop', 'postgres', 'postgres')
      SETTINGS materialized_postgresql_schema = 'shop', materialized_postgresql_tables_list = 'customers'`);
  let snapshotRows = 0;
  for (let i = 0; i < 100; i++) {
    const r = tryQ("SELECT count() FROM peers_mpg_shop.customers");
    if (r.ok) {
      snapshotRows = Number(r.out);
      break;
    }
    await sleep(200);
  }
  const id = (
    await pool.query<{ id: string }>(
      `INSERT INTO shop.customers (email, name) VALUES ('peers-${tag}-' || random() || '@example.test', 'Peers') RETURNING id`,
    )
  ).rows[0]?.id;
  let streamed = false;
  for (let i = 0; i < 50 && !streamed; i++) {
    await sleep(200);
    const r = tryQ(`SELECT count() FROM peers_mpg_shop.customers WHERE id = '${id}'`);
    streamed = r.ok && r.out === "1";
  }
  q("DROP DATABASE peers_mpg_shop SYNC");
  const log = readFileSync(chLog, "utf8")
    .split("\n")
    .filter((l) => /replica identity|skipped from replication/i.test(l))
    .map((l) => l.replace(/^.*?<(Warning|Error)> /, "<$1> "))
    .slice(0, 2);
  return { snapshotRows, streamedWithin10s: streamed, log };
}

const consumers = ["projector (sidecar)", "ClickHouse Kafka engine + MV", "MaterializedPostgreSQL"] as const;
type Consumer = (typeof consumers)[number];

async function maxId(c: Consumer): Promise<number> {
  if (c === "projector (sidecar)") {
    const r = await request(`${side?.readUrl}/api/tables/${schema}__items/rows?columns=id&order=id:desc&limit=1`).catch(
      () => undefined,
    );
    return Number(r?.json?.data?.[0]?.id ?? -1);
  }
  const r = tryQ(
    c === "MaterializedPostgreSQL" ? "SELECT max(id) FROM peers_mpg.items" : "SELECT max(id) FROM peers.kafka_items",
  );
  return r.ok ? Number(r.out) : -1;
}
async function counts(): Promise<Record<Consumer, number>> {
  const r = await request(`${side?.readUrl}/api/tables/${schema}__items/count`).catch(() => undefined);
  const k = tryQ("SELECT count() FROM peers.kafka_items FINAL");
  const m = tryQ("SELECT count() FROM peers_mpg.items FINAL");
  return {
    "projector (sidecar)": Number(r?.json?.data?.count ?? -1),
    "ClickHouse Kafka engine + MV": k.ok ? Number(k.out) : -1,
    MaterializedPostgreSQL: m.ok ? Number(m.out) : -1,
  };
}

async function waitAll(target: (c: Record<Consumer, number>) => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (target(await counts())) return;
    await sleep(500);
  }
}

async function freshness(): Promise<Record<Consumer, Dist>> {
  const committed = new Map<number, number>();
  const seen: Record<Consumer, number[]> = {
    "projector (sidecar)": [],
    "ClickHouse Kafka engine + MV": [],
    MaterializedPostgreSQL: [],
  };
  const base = 1_000_000_000;
  const last: Record<string, number> = {};
  let lastId = base;
  let stop = false;
  let stopAt = Number.POSITIVE_INFINITY;
  // One poll loop per consumer, so a slow answer of one never delays the others.
  const pollers = consumers.map(async (c) => {
    while (!stop || (last[c] ?? base) < lastId) {
      const id = await maxId(c);
      const now = performance.now();
      const prev = last[c] ?? base;
      for (let k = prev + 1; k <= id; k++) {
        const t = committed.get(k);
        if (t !== undefined) seen[c].push(now - t);
      }
      if (id > prev) last[c] = id;
      if (stop && performance.now() > stopAt + 30_000) break;
      await sleep(20);
    }
  });
  const t0 = performance.now();
  for (let i = 1; performance.now() - t0 < FRESH_SECONDS * 1000; i++) {
    const due = t0 + (i * 1000) / FRESH_RATE;
    await sleep(Math.max(0, due - performance.now()));
    const id = base + i;
    await pool.query(`INSERT INTO ${schema}.items (id, sku, qty, price) VALUES ($1, $2, $3, $4)`, [
      id,
      `F-${id}`,
      i % 10,
      "9.99",
    ]);
    committed.set(id, performance.now());
    lastId = id;
  }
  stopAt = performance.now();
  stop = true;
  await Promise.all(pollers);
  return Object.fromEntries(consumers.map((c) => [c, dist(seen[c])])) as Record<Consumer, Dist>;
}

let nextId = 2_000_000_000;
/** Inserts `rows` new rows in 10,000-row transactions; returns the seconds it took. */
async function insertRows(rows: number): Promise<number> {
  const t0 = performance.now();
  await insertItems(pool, schema, nextId, rows);
  nextId += rows;
  return (performance.now() - t0) / 1000;
}

const topicEnd = async () => (await admin.fetchTopicOffsets(topic)).reduce((s, o) => s + Number(o.high), 0);

/** Seconds from t0 until each `done` check holds (checked every 100 ms, at most 600 s). */
async function timeUntil(t0: number, checks: Record<string, () => Promise<boolean>>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  while (Object.keys(out).length < Object.keys(checks).length && performance.now() - t0 < 600_000) {
    for (const [k, done] of Object.entries(checks))
      if (out[k] === undefined && (await done())) out[k] = (performance.now() - t0) / 1000;
    await sleep(100);
  }
  return out;
}

async function connectorState(state: "pause" | "resume", expect: string): Promise<void> {
  await request(`${st.env.KAFKA_CONNECT_URL}/connectors/${connector}/${state}`, { method: "PUT" });
  for (let i = 0; i < 120; i++) {
    const r = await request(`${st.env.KAFKA_CONNECT_URL}/connectors/${connector}/status`);
    const st8 = r.json as { connector?: { state?: string }; tasks?: { state?: string }[] };
    if (st8.connector?.state === expect && (st8.tasks ?? []).every((t) => t.state === expect)) return;
    await sleep(500);
  }
  throw new Error(`connector did not reach ${expect}`);
}

interface Phase {
  rows: number;
  insertSeconds: number;
  seconds: Record<string, number>;
  rowsPerSec: Record<string, number>;
  /** CPU µs per row of each process over the phase (postgres with its backends, kafka, connect, …). */
  cpuUsPerRow: Record<string, number>;
  machineBusyPercent: number;
}

/**
 * One row, committed and waited for until `consumer` shows it: the phase then starts with that
 * consumer polling at its fastest (MaterializedPostgreSQL backs off up to 10 s when idle, and
 * that wait is not throughput).
 */
async function touch(consumer: Consumer): Promise<void> {
  const id = nextId++;
  await pool.query(`INSERT INTO ${schema}.items (id, sku, qty, price) VALUES ($1, 'touch', 0, 0)`, [id]);
  const t0 = performance.now();
  while ((await maxId(consumer)) < id && performance.now() - t0 < 60_000) await sleep(20);
}

/** One throughput phase: ROWS inserted, time until each check holds, CPU per row per process. */
async function phase(
  name: string,
  consumer: Consumer,
  checksFrom: () => Promise<Record<string, () => Promise<boolean>>>,
): Promise<Phase> {
  await touch(consumer);
  const checks = await checksFrom();
  const cpu = cpuSampler(() => ({ ...st.pids(), ...(side?.pids() ?? {}) }), "bench (chDB: MaterializedPostgreSQL)");
  const t0 = performance.now();
  const [insertSeconds, seconds] = await Promise.all([insertRows(ROWS), timeUntil(t0, checks)]);
  const usage = cpu.stop();
  const result: Phase = {
    rows: ROWS,
    insertSeconds: round(insertSeconds, 2),
    seconds: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, round(v, 2)])),
    rowsPerSec: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, round(ROWS / v, 0)])),
    cpuUsPerRow: Object.fromEntries(
      Object.entries(usage.cpuSecondsUsed).map(([k, v]) => [k, round((v * 1e6) / ROWS, 1)]),
    ),
    machineBusyPercent: usage.machineBusyPercent,
  };
  console.log(`${name}:`, result);
  return result;
}

/**
 * Streaming throughput, commit → ClickHouse, each pipeline alone and warm:
 * 1. warm-up: WARM rows with every consumer on (JIT of Connect, Kafka and the projector);
 * 2. MaterializedPostgreSQL alone: the Debezium connector paused, the Kafka engine dropped;
 * 3. the sidecar alone: MaterializedPostgreSQL dropped, the connector resumed and caught up.
 * Each consumer holds every row of its phase when its count has grown by ROWS.
 */
async function throughput(): Promise<{
  warmUp: { rows: number; seconds: number };
  materializedPostgreSQL: Phase;
  sidecar: Phase;
}> {
  const warm0 = await counts();
  const tw = performance.now();
  await insertRows(WARM);
  await waitAll((c) => consumers.every((k) => c[k] - warm0[k] >= WARM), 600_000);
  const warmUp = { rows: WARM, seconds: round((performance.now() - tw) / 1000, 1) };
  console.log("warm-up:", warmUp);
  q("DROP TABLE IF EXISTS peers.kafka_mv SYNC");
  q("DROP TABLE IF EXISTS peers.kafka_src SYNC");

  await connectorState("pause", "PAUSED");
  const mpg = await phase("MaterializedPostgreSQL alone", "MaterializedPostgreSQL", async () => {
    const m0 = (await counts()).MaterializedPostgreSQL;
    return { MaterializedPostgreSQL: async () => (await counts()).MaterializedPostgreSQL - m0 >= ROWS };
  });
  q("DROP DATABASE peers_mpg SYNC");

  await connectorState("resume", "RUNNING");
  // Not timed: the rows of the MaterializedPostgreSQL phase, streamed once the connector resumes.
  await waitAll((c) => c["projector (sidecar)"] - warm0["projector (sidecar)"] >= nextId - 2_000_000_000, 600_000);
  const sidecar = await phase("sidecar alone (Debezium → Kafka → projector)", "projector (sidecar)", async () => {
    const s0 = (await counts())["projector (sidecar)"];
    const e0 = await topicEnd();
    return {
      "Debezium (rows on the topic)": async () => (await topicEnd()) - e0 >= ROWS,
      "projector (sidecar)": async () => (await counts())["projector (sidecar)"] - s0 >= ROWS,
    };
  });
  return { warmUp, materializedPostgreSQL: mpg, sidecar };
}

/** Backlog drain: each Debezium consumer alone, from offset 0 of the now full topic, with nothing else running. */
async function drain(): Promise<Record<string, { rows: number; seconds: number; rowsPerSec: number }>> {
  const total = (await admin.fetchTopicOffsets(topic)).reduce((s, o) => s + Number(o.high), 0);
  const out: Record<string, { rows: number; seconds: number; rowsPerSec: number }> = {};
  // ClickHouse Kafka engine, a new consumer group (reads from the earliest offset).
  q("DROP TABLE IF EXISTS peers.kafka_mv SYNC");
  q("DROP TABLE IF EXISTS peers.kafka_src SYNC");
  await side?.stop();
  let t0 = performance.now();
  q(`CREATE TABLE peers.kafka_src2 (raw String) ENGINE = Kafka SETTINGS
      kafka_broker_list = '${st.env.KAFKA_BROKERS}', kafka_topic_list = '${topic}', kafka_group_name = 'ch2-${tag}',
      kafka_format = 'RawBLOB', kafka_flush_interval_ms = 100, kafka_max_block_size = 65536, kafka_poll_timeout_ms = 50`);
  q("CREATE TABLE peers.kafka_items2 AS peers.kafka_items");
  q(mvSql("peers.kafka_mv2", "peers.kafka_items2", "peers.kafka_src2"));
  for (;;) {
    const n = Number(q("SELECT count() FROM peers.kafka_items2"));
    if (n >= total || performance.now() - t0 > 300_000) {
      const secs = (performance.now() - t0) / 1000;
      out["ClickHouse Kafka engine + MV"] = { rows: n, seconds: round(secs, 2), rowsPerSec: round(n / secs, 0) };
      break;
    }
    await sleep(100);
  }
  q("DROP TABLE peers.kafka_mv2 SYNC");
  q("DROP TABLE peers.kafka_src2 SYNC");
  // The projector, a new process, group and chDB directory (timed from healthy).
  side = await startSidecar(st, { PROJECTOR_TOPICS: topic, TOPIC_PREFIX: prefix });
  t0 = performance.now();
  for (;;) {
    const r = await request(`${side.readUrl}/api/tables/${schema}__items/count`).catch(() => undefined);
    const n = Number(r?.json?.data?.count ?? 0);
    if (n >= total || performance.now() - t0 > 300_000) {
      const secs = (performance.now() - t0) / 1000;
      out["projector (sidecar)"] = { rows: n, seconds: round(secs, 2), rowsPerSec: round(n / secs, 0) };
      break;
    }
    await sleep(100);
  }
  return out;
}

async function teardown(): Promise<void> {
  tryQ("DROP DATABASE IF EXISTS peers_mpg SYNC");
  tryQ("DROP DATABASE IF EXISTS peers_mpg_shop SYNC");
  tryQ("DROP DATABASE IF EXISTS peers SYNC");
  try {
    ch.cleanup?.();
  } catch {
    /* closed */
  }
  await side?.stop();
  await request(`${st.env.KAFKA_CONNECT_URL}/connectors/${connector}`, { method: "DELETE" }).catch(() => undefined);
  for (let i = 0; i < 60 && slot; i++) {
    const r = await pool.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slot]);
    if (r.rowCount === 0) break;
    if (!r.rows[0].active) {
      await pool.query("SELECT pg_drop_replication_slot($1)", [slot]).catch(() => undefined);
      break;
    }
    await sleep(500);
  }
  // MaterializedPostgreSQL's slots and publications, if its DROP DATABASE left any.
  await pool
    .query(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE '%_ch_replication_slot' AND NOT active",
    )
    .catch(() => undefined);
  const pubs = await pool.query<{ pubname: string }>(
    "SELECT pubname FROM pg_publication WHERE pubname LIKE '%_ch_publication' OR pubname = $1",
    [slot],
  );
  for (const p of pubs.rows) await pool.query(`DROP PUBLICATION IF EXISTS "${p.pubname}"`).catch(() => undefined);
  await pool.query("DELETE FROM public.sidecar_heartbeat WHERE slot_name = $1", [slot]).catch(() => undefined);
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  await pool.end();
  await st.close();
}

try {
  await setup();
  console.log("waiting until every consumer holds the seed row …");
  await waitAll((c) => consumers.every((k) => c[k] >= 1), 180_000);
  const start = await counts();
  console.log("consumers ready:", start);
  const shop = await mpgOnShopTables();
  console.log(
    `MaterializedPostgreSQL on shop.customers (REPLICA IDENTITY FULL): snapshot ${shop.snapshotRows} rows, a new row streamed within 10 s: ${shop.streamedWithin10s}`,
  );
  for (const l of shop.log) console.log(`  ${l}`);
  const fresh = await freshness();
  const thr = await throughput();
  const drained = await drain();
  console.log("backlog drain, each consumer alone from offset 0:", drained);
  console.log(`\npeers on the same topic / table, same machine, same run (${machineAtStart.cpus} CPUs)\n`);
  const streamed: Record<Consumer, number | undefined> = {
    "projector (sidecar)": thr.sidecar.rowsPerSec["projector (sidecar)"],
    "ClickHouse Kafka engine + MV": undefined,
    MaterializedPostgreSQL: thr.materializedPostgreSQL.rowsPerSec.MaterializedPostgreSQL,
  };
  console.table(
    Object.fromEntries(
      consumers.map((c) => [
        c,
        {
          "fresh p50 ms": fresh[c].p50,
          "fresh p95 ms": fresh[c].p95,
          "fresh p99 ms": fresh[c].p99,
          "fresh max ms": fresh[c].max,
          rows: fresh[c].n,
          "streaming rows/s, alone, warm": streamed[c] ?? "-",
          "backlog drain rows/s": drained[c]?.rowsPerSec ?? "-",
        },
      ]),
    ),
  );
  const ratio = (streamed["projector (sidecar)"] ?? 0) / (streamed.MaterializedPostgreSQL ?? Number.NaN);
  console.log(
    `Debezium alone (rows on the topic, sidecar phase): ${thr.sidecar.rowsPerSec["Debezium (rows on the topic)"]} rows/s; sidecar / MaterializedPostgreSQL: ${ratio.toFixed(2)}`,
  );
  console.log("CPU µs per row, sidecar phase:", thr.sidecar.cpuUsPerRow);
  console.log("CPU µs per row, MaterializedPostgreSQL phase:", thr.materializedPostgreSQL.cpuUsPerRow);
  writeResult("peers", {
    benchmark: "peers",
    at: new Date().toISOString(),
    machine: { ...machineAtStart, loadavgEnd: machine().loadavg },
    table:
      "items (id bigint PK, sku text, qty int, price numeric(12,2), updated_at timestamptz), replica identity default",
    freshnessWorkload: {
      rowsPerSec: FRESH_RATE,
      seconds: FRESH_SECONDS,
      pollMs: 20,
      note: "one row per transaction; ms from COMMIT returned to max(id) visible",
    },
    throughputWorkload: {
      rows: ROWS,
      rowsPerTransaction: 10_000,
      warmUpRows: WARM,
      note: "after a warm-up with every consumer on, each pipeline alone (the other paused or dropped): seconds from the first INSERT until the consumer holds every row",
    },
    settings: {
      kafkaEngine:
        "kafka_format RawBLOB + JSONExtract MV, kafka_flush_interval_ms 100, kafka_poll_timeout_ms 50, kafka_max_block_size 65536",
      materializedPostgreSQL: "defaults (materialized_postgresql_backoff_min_ms 200, max_block_size 65536)",
      projector: "defaults (src/shared/config.ts)",
    },
    freshness: fresh,
    throughput: thr,
    backlogDrain: drained,
    backlogDrainNote:
      "each Debezium consumer alone, a new group from offset 0 of the full topic (every row of the run), nothing else consuming; Kafka engine timed from CREATE, projector from its process answering /health",
    materializedPostgreSQLOnShopTables: shop,
  });
} finally {
  await teardown();
}
process.exit(0);
