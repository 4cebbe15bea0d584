/**
 * Projector throughput and memory (issue 3), against two baselines measured in the same run:
 *   1. consume-only: kafkajs reading the same topic (eachBatch, same batch bytes), nothing else;
 *   2. insert-only: the same rows inserted into the same ClickHouse (chDB), batches of the same size;
 *   3. the projector itself (decode, convert, insert, commit), from offset 0 to the end of the topic.
 * The topic holds real Debezium snapshot events of N rows (default 500,000) of a table with a
 * typical mix of types. Target: projector ≥ 70% of the slower baseline; JS heap < 256 MB.
 *
 *   node --expose-gc --import tsx bench/projector.ts [--rows 500000] [--batch-mb 8] [--rounds 3]
 *
 * Each round runs consume-only, the projector and insert-only in turn on the same topic (a new
 * consumer group and a new ClickHouse database each time; insert-only with the round's batch
 * size); the reported numbers are each one's median, and the ratios are also given per round:
 * two runs of the same code on this machine differ by up to 25%, and one insert-only pass per
 * run made the ceiling move as much as the projector.
 *
 * Writes bench/results/projector.json and prints a summary.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Registry } from "prom-client";
import { catalogShape, readCatalog } from "../src/attach/catalog.js";
import { openClickHouse } from "../src/clickhouse/client.js";
import { ConnectClient } from "../src/connect/connect-client.js";
import { connectorVariables, readConnectorFile, renderConnectorConfig } from "../src/connect/connector-config.js";
import { createDatabaseSql, createTableSql } from "../src/projector/ddl.js";
import { setProjectorHeapPolicy } from "../src/projector/heap.js";
import { startProjector } from "../src/projector/projector.js";
import { loadConfig } from "../src/shared/config.js";
import { createKafka } from "../src/shared/kafka.js";
import { createLogger } from "../src/shared/logger.js";
import { createPgPool } from "../src/shared/postgres.js";
import { totalCpuSeconds } from "./lib.js";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "500000" },
    "batch-mb": { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
  },
});
const N = Number(args.rows);
const BATCH_BYTES = Math.round(Number(args["batch-mb"]) * 1024 * 1024);
const base = loadConfig();
const log = createLogger("warn");
const id = `bench_${randomBytes(3).toString("hex")}`;
const schema = `b_${id}`;
const prefix = `b_${id}`;
const topic = `${prefix}.${schema}.items`;
const pool = createPgPool(base.DATABASE_URL, { max: 2 });
const connect = new ConnectClient(base.KAFKA_CONNECT_URL);
const kafka = createKafka(base.KAFKA_BROKERS, "bench-projector");
const admin = kafka.admin();
const chdbDir = mkdtempSync(join(os.tmpdir(), "bench-chdb-"));
let slot = "";
// As `cqrs-sidecar run project` sets it; the baselines in this process run under it too.
setProjectorHeapPolicy();
const loadavgAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
const gc = (globalThis as { gc?: () => void }).gc;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
/** CPU µs of this process (all its threads: main, decode worker, chDB) since `from`. */
const processUs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return d.user + d.system;
};

async function topicEnd(): Promise<number> {
  const offs = await admin.fetchTopicOffsets(topic).catch(() => []);
  return offs.reduce((s, o) => s + Number(o.high), 0);
}

async function setup(): Promise<number> {
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(`CREATE TABLE ${schema}.items (
    id bigint PRIMARY KEY, sku text NOT NULL, name text, price numeric(12,2) NOT NULL, qty int NOT NULL,
    created_at timestamptz NOT NULL, customer uuid, tags text[], active boolean NOT NULL)`);
  const t0 = now();
  await pool.query(`INSERT INTO ${schema}.items
    SELECT g, 'SKU-' || g, 'item number ' || g, (g % 100000) / 100.0, g % 1000,
           timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' + (g % 999983) * interval '1 microsecond',
           md5(g::text)::uuid, ARRAY['t' || (g % 7), 'x'], g % 2 = 0
    FROM generate_series(1, ${N}) g`);
  console.log(`postgres: ${N} rows in ${((now() - t0) / 1000).toFixed(1)} s`);
  const { template } = await readConnectorFile("connectors/shop.json");
  const vars = connectorVariables({
    databaseUrl: base.CONNECT_DATABASE_URL ?? base.DATABASE_URL,
    topicPrefix: prefix,
    name: id,
    tables: [`${schema}.items`],
    heartbeatTable: "public.sidecar_heartbeat",
  });
  slot = vars.SLOT_NAME ?? "";
  const t1 = now();
  await connect.putConfig(id, renderConnectorConfig(template, vars));
  await connect.waitRunning(id, 120_000);
  await admin.connect();
  while ((await topicEnd()) < N) await sleep(500);
  const s = (now() - t1) / 1000;
  console.log(`debezium snapshot: ${N} events on ${topic} in ${s.toFixed(1)} s`);
  return s;
}

async function teardown(): Promise<void> {
  await connect.delete(id).catch(() => false);
  for (let i = 0; i < 60; i++) {
    const r = await pool.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slot]);
    if (r.rowCount === 0) break;
    if (!r.rows[0].active) {
      await pool.query("SELECT pg_drop_replication_slot($1)", [slot]).catch(() => undefined);
      break;
    }
    await sleep(500);
  }
  await pool.query(`DROP PUBLICATION IF EXISTS ${slot}`).catch(() => undefined);
  await pool.query("DELETE FROM public.sidecar_heartbeat WHERE slot_name = $1", [slot]).catch(() => undefined);
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  await pool.end();
  rmSync(chdbDir, { recursive: true, force: true });
}

/** Baseline 1: kafkajs alone. */
async function consumeOnly(
  round: number,
): Promise<{ seconds: number; perSec: number; cpuUsPerRow: number; procUsPerRow: number; bytesPerMessage: number }> {
  const consumer = kafka.consumer({
    groupId: `${id}-consume-${round}`,
    maxBytesPerPartition: BATCH_BYTES,
    maxBytes: BATCH_BYTES * 4,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let count = 0;
  let bytes = 0;
  const t0 = now();
  const cpu0 = totalCpuSeconds().busy;
  const proc0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
          for (const [k, v] of Object.entries(m.headers ?? {})) bytes += k.length + String(v ?? "").length;
        }
        count += batch.messages.length;
        if (count >= N) resolve();
      },
    });
  });
  const seconds = (now() - t0) / 1000;
  const cpuUsPerRow = ((totalCpuSeconds().busy - cpu0) / N) * 1e6;
  const procUsPerRow = processUs(proc0) / N;
  await consumer.disconnect();
  return { seconds, perSec: N / seconds, cpuUsPerRow, procUsPerRow, bytesPerMessage: bytes / count };
}

/** Baseline 2: the same rows, already converted, inserted into the same ClickHouse. */
async function insertOnly(
  rowsPerInsert: number,
  round: number,
): Promise<{ seconds: number; perSec: number; cpuUsPerRow: number; procUsPerRow: number }> {
  const ch = await openClickHouse(`chdb:${chdbDir}`);
  // The table the projector creates for these events: the one the catalog describes (attach's own DDL).
  const shape = catalogShape(await readCatalog(pool, { schema, table: "items" }));
  const ddl = { database: `bench_insert_${round}` };
  await ch.command({ query: createDatabaseSql(ddl) });
  await ch.command({ query: createTableSql(ddl, shape) });
  const row = (g: number) => {
    const ts = Date.UTC(2024, 0, 1) + g * 1000;
    const us = String(g % 999983).padStart(6, "0");
    return {
      id: g,
      sku: `SKU-${g}`,
      name: `item number ${g}`,
      price: ((g % 100000) / 100).toFixed(2),
      qty: g % 1000,
      created_at: `${new Date(ts + Math.floor((g % 999983) / 1e6) * 1000).toISOString().slice(0, 19).replace("T", " ")}.${us.slice(-6)}`,
      customer: "00000000-0000-0000-0000-000000000000",
      tags: [`t${g % 7}`, "x"],
      active: g % 2 === 0,
      _version: "26781184",
      _deleted: 0,
      _commit_ts: "2024-01-01 00:00:00.000000",
      _lsn: "26781184",
    };
  };
  let spent = 0;
  let proc = 0; // this process's CPU µs (chDB's threads included)
  let cpu = 0; // machine CPU seconds during the insert calls (building the rows is left out, as its time is)
  for (let start = 1; start <= N; start += rowsPerInsert) {
    const values = [];
    for (let g = start; g < Math.min(start + rowsPerInsert, N + 1); g++) values.push(row(g));
    const t0 = now();
    const cpu0 = totalCpuSeconds().busy;
    const proc0 = process.cpuUsage();
    await ch.insert({ table: `${ddl.database}.\`${shape.target}\``, values, format: "JSONEachRow" });
    spent += now() - t0;
    cpu += totalCpuSeconds().busy - cpu0;
    proc += processUs(proc0);
  }
  await ch.close();
  return { seconds: spent / 1000, perSec: N / (spent / 1000), cpuUsPerRow: (cpu / N) * 1e6, procUsPerRow: proc / N };
}

/** The projector, offset 0 to the end, with heap and RSS sampled every 50 ms. */
async function projector(round: number): Promise<{
  seconds: number;
  perSec: number;
  cpuUsPerRow: number;
  procUsPerRow: number;
  heapPeakMb: number;
  mainHeapPeakMb: number;
  workerHeapPeakMb: number;
  rssPeakMb: number;
  batches: number;
}> {
  gc?.();
  const config = loadConfig({
    ...process.env,
    CLICKHOUSE_URL: `chdb:${chdbDir}`,
    CLICKHOUSE_DATABASE: `bench_proj_${round}`,
    PROJECTOR_TOPICS: topic,
    // Its own control topic too: on the shared prefix its projector answered the running sidecar's
    // snapshot commands, copying an attach into the bench's ClickHouse.
    TOPIC_PREFIX: prefix,
    PROJECTOR_GROUP: `${id}-projector-${round}`,
    DLQ_TOPIC: `${prefix}_dlq`,
    PROJECTOR_MAX_BATCH_BYTES: String(BATCH_BYTES),
    LOG_LEVEL: "warn",
  });
  const registry = new Registry();
  let workerHeapBytes = 0;
  const workerHeap = () => {
    void (
      registry.getSingleMetric("sidecar_projector_decode_worker_heap_bytes")?.get() as
        | Promise<{ values: { value: number }[] }>
        | undefined
    )?.then((g) => {
      workerHeapBytes = g.values[0]?.value ?? 0;
    });
    return workerHeapBytes;
  };
  let heapPeak = 0;
  let mainPeak = 0;
  let workerPeak = 0;
  let rssPeak = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    // The decode worker's heap is its own isolate's: process.memoryUsage() here sees the main thread only.
    const worker = workerHeap();
    heapPeak = Math.max(heapPeak, m.heapUsed + worker);
    mainPeak = Math.max(mainPeak, m.heapUsed);
    workerPeak = Math.max(workerPeak, worker);
    rssPeak = Math.max(rssPeak, m.rss);
  }, 50);
  const t0 = now();
  const cpu0 = totalCpuSeconds().busy;
  const proc0 = process.cpuUsage();
  const p = await startProjector(config, { log, registry });
  const started = (now() - t0) / 1000;
  while (!p.ready()) await sleep(10);
  const ready = (now() - t0) / 1000;
  for (;;) {
    const offs = await admin.fetchOffsets({ groupId: config.PROJECTOR_GROUP, topics: [topic] });
    const done = offs[0]?.partitions.reduce((s, x) => s + Math.max(0, Number(x.offset)), 0) ?? 0;
    if (done >= N) break;
    // Polled often: the drain's end is known to within this, and a round takes only a few seconds.
    await sleep(20);
  }
  const seconds = (now() - t0) / 1000;
  const cpuUsPerRow = ((totalCpuSeconds().busy - cpu0) / N) * 1e6;
  const procUsPerRow = processUs(proc0) / N;
  clearInterval(sampler);
  const batches = (await registry.getSingleMetricAsString("sidecar_projector_batch_size")).match(/_count (\d+)/)?.[1];
  const batchSeconds = (await registry.getSingleMetricAsString("sidecar_projector_batch_duration_seconds")).match(
    /_sum ([\d.]+)/,
  )?.[1];
  console.log(
    `projector: started after ${started.toFixed(2)} s, in the group after ${ready.toFixed(2)} s, time inside batches ${Number(batchSeconds).toFixed(2)} s of ${seconds.toFixed(2)} s`,
  );
  await p.stop();
  return {
    seconds,
    perSec: N / seconds,
    cpuUsPerRow,
    procUsPerRow,
    heapPeakMb: heapPeak / 2 ** 20,
    mainHeapPeakMb: mainPeak / 2 ** 20,
    workerHeapPeakMb: workerPeak / 2 ** 20,
    rssPeakMb: rssPeak / 2 ** 20,
    batches: Number(batches ?? 0),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

try {
  const snapshotSeconds = await setup();
  const rounds: {
    consumeOnly: number;
    consumeCpuUsPerRow: number;
    projector: number;
    consumeProcUsPerRow: number;
    proj: Awaited<ReturnType<typeof projector>>;
    insert: Awaited<ReturnType<typeof insertOnly>>;
    rowsPerInsert: number;
  }[] = [];
  const cores = os.cpus().length;
  let first: Awaited<ReturnType<typeof consumeOnly>> | undefined;
  for (let r = 1; r <= Math.max(1, Number(args.rounds)); r++) {
    const consume = await consumeOnly(r);
    first ??= consume;
    const proj = await projector(r);
    const rowsPerInsert = Math.max(1, Math.round(N / Math.max(1, proj.batches)));
    const insert = await insertOnly(rowsPerInsert, r);
    rounds.push({
      consumeOnly: consume.perSec,
      consumeCpuUsPerRow: consume.cpuUsPerRow,
      consumeProcUsPerRow: consume.procUsPerRow,
      projector: proj.perSec,
      proj,
      insert,
      rowsPerInsert,
    });
    const roundCeiling = (cores * 1e6) / (consume.cpuUsPerRow + insert.cpuUsPerRow);
    console.log(
      `round ${r}: consume-only ${consume.perSec.toFixed(0)} events/s, insert-only ${insert.perSec.toFixed(0)} rows/s, projector ${proj.perSec.toFixed(0)} rows/s (${((proj.perSec / consume.perSec) * 100).toFixed(0)}% of consume-only, ${(proj.perSec / roundCeiling).toFixed(2)}x of this round's ceiling), heap peak ${proj.heapPeakMb.toFixed(0)} MB (main thread ${proj.mainHeapPeakMb.toFixed(0)}, decode worker ${proj.workerHeapPeakMb.toFixed(0)}), rss peak ${proj.rssPeakMb.toFixed(0)} MB, ${proj.batches} batches`,
    );
  }
  const batches = median(rounds.map((r) => r.proj.batches));
  const rowsPerInsert = median(rounds.map((r) => r.rowsPerInsert));
  const firstRound = first as Awaited<ReturnType<typeof consumeOnly>>;
  console.log(`bytes on Kafka per message (value, key and headers): ${firstRound.bytesPerMessage.toFixed(0)}`);
  const insert = {
    perSec: median(rounds.map((r) => r.insert.perSec)),
    cpuUsPerRow: median(rounds.map((r) => r.insert.cpuUsPerRow)),
    procUsPerRow: median(rounds.map((r) => r.insert.procUsPerRow)),
  };
  console.log(
    `insert-only: ${insert.perSec.toFixed(0)} rows/s (median; ${rowsPerInsert} rows per insert, as the projector's batches)`,
  );
  const consumeMedian = median(rounds.map((r) => r.consumeOnly));
  const projMedian = median(rounds.map((r) => r.projector));
  const slower = Math.min(consumeMedian, insert.perSec);
  // Machine CPU (all cores, broker included) per row in each phase: a projector has to do at
  // least the consume-only and the insert-only work, so with these cores busy it cannot pass
  // cores / (consume + insert), whatever its own decoding costs.
  const cpu = {
    consumeOnly: median(rounds.map((r) => r.consumeCpuUsPerRow)),
    insertOnly: insert.cpuUsPerRow,
    projector: median(rounds.map((r) => r.proj.cpuUsPerRow)),
  };
  // The same, counting this process only (the broker and anything else on the machine left out).
  const proc = {
    consumeOnly: median(rounds.map((r) => r.consumeProcUsPerRow)),
    insertOnly: insert.procUsPerRow,
    projector: median(rounds.map((r) => r.proj.procUsPerRow)),
  };
  const ceiling = (cores * 1e6) / (cpu.consumeOnly + cpu.insertOnly);
  console.log(
    `machine CPU per row: consume-only ${cpu.consumeOnly.toFixed(1)} µs, insert-only ${cpu.insertOnly.toFixed(1)} µs, projector ${cpu.projector.toFixed(1)} µs; consume + insert alone on ${cores} cores: at most ${ceiling.toFixed(0)} rows/s (${((ceiling / slower) * 100).toFixed(0)}% of the slower baseline)`,
  );
  console.log(
    `this process's CPU per row: consume-only ${proc.consumeOnly.toFixed(1)} µs, insert-only ${proc.insertOnly.toFixed(1)} µs, projector ${proc.projector.toFixed(1)} µs`,
  );
  const perRound = rounds.map((r) => (r.projector * (r.consumeCpuUsPerRow + r.insert.cpuUsPerRow)) / (cores * 1e6));
  console.log(
    `projector / ceiling: ${(projMedian / ceiling).toFixed(2)}x (medians; per round ${perRound.map((x) => x.toFixed(2)).join(", ")}, median ${median(perRound).toFixed(2)}x; goal >= 0.8x)`,
  );
  const result = {
    benchmark: "projector",
    at: new Date().toISOString(),
    rows: N,
    batchBytes: BATCH_BYTES,
    snapshotSeconds,
    consumeOnly: consumeMedian,
    insertOnly: insert.perSec,
    projector: projMedian,
    ratioToSlowerBaseline: projMedian / slower,
    target: 0.7,
    machineCpuUsPerRow: cpu,
    processCpuUsPerRow: proc,
    consumePlusInsertCeiling: ceiling,
    ratioToCeiling: projMedian / ceiling,
    ratioToCeilingPerRound: perRound,
    ratioToCeilingTarget: 0.8,
    rounds: rounds.map((r) => ({
      consumeOnly: r.consumeOnly,
      insertOnly: r.insert.perSec,
      projector: r.projector,
      ratioToConsumeOnly: r.projector / r.consumeOnly,
      consumeCpuUsPerRow: r.consumeCpuUsPerRow,
      insertCpuUsPerRow: r.insert.cpuUsPerRow,
      projectorCpuUsPerRow: r.proj.cpuUsPerRow,
      heapUsedPeakMb: r.proj.heapPeakMb,
    })),
    heapUsedPeakMb: Math.max(...rounds.map((r) => r.proj.heapPeakMb)),
    heapUsedPeakMainMb: Math.max(...rounds.map((r) => r.proj.mainHeapPeakMb)),
    heapUsedPeakWorkerMb: Math.max(...rounds.map((r) => r.proj.workerHeapPeakMb)),
    rssPeakMb: Math.max(...rounds.map((r) => r.proj.rssPeakMb)),
    heapTargetMb: 256,
    projectorBatches: batches,
    rowsPerInsertBaseline: rowsPerInsert,
    bytesPerMessage: Math.round(firstRound.bytesPerMessage),
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      clickhouse: "chdb (embedded)",
      loadavg: loadavgAtStart,
      loadavgEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    },
  };
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/projector.json", `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  await teardown();
}
process.exit(0);
