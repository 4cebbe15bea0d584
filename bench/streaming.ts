/**
 * Streaming, round after round (issue 23): the peers benchmark's sidecar phase (Debezium → Kafka →
 * projector → chDB, the same `items` table and 10,000-row transactions) repeated on one warm
 * stack, so each round shows how much of the CPU per row is still the JVMs compiling. Each round
 * prints rows/s end to end and on the topic, CPU µs per row per process, and the Kafka and
 * Connect JVMs' CPU split by thread: `jit` (C1/C2 compiler threads), `gc`, `work` (the rest).
 * The first round is the warm-up (--warm rows).
 *
 *   node --import tsx bench/streaming.ts [--rows 200000] [--warm 200000] [--rounds 3] [--overrides '{"producer.override.linger.ms":"20"}']
 *     [--alternate '{"sourceinfo.struct.maker":"io.debezium.connector.postgresql.PostgresSourceInfoStructMaker"}']
 *
 * --alternate: each round is run twice, with the connector's config as given and with these settings
 * on top (Connect restarts the task, its JVM stays warm), in turns, and the medians of both are
 * printed side by side: two settings compared in the same minutes, on the same JIT-compiled code.
 *
 * A private stack of its own, or bench/run.sh's (BENCH_STACK_DIR and BENCH_BASE_PORT set).
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import pg from "pg";
import * as cc from "../src/connect/connector-config.js";
import * as kf from "../src/shared/kafka.js";
import * as lib from "./lib.js";

const { values: a } = parseArgs({
  options: {
    rows: { type: "string", default: "200000" },
    warm: { type: "string", default: "200000" },
    rounds: { type: "string", default: "3" },
    overrides: { type: "string", default: "{}" },
    alternate: { type: "string" },
    "base-port": { type: "string", default: "26480" },
  },
});
const ROWS = Number(a.rows);
const st = await lib.benchStack(Number(a["base-port"]));
const tag = randomBytes(3).toString("hex");
const schema = `st_${tag}`;
const connector = `st-${tag}`;
const topic = `${schema}.${schema}.items`;
const pool = new pg.Pool({ connectionString: st.env.DATABASE_URL, max: 4 });
const kafka = kf.createKafka([st.env.KAFKA_BROKERS as string], "bench-streaming");
const admin = kafka.admin();
await admin.connect();
await pool.query(`CREATE SCHEMA ${schema}`);
await pool.query(`CREATE TABLE ${schema}.items (id bigint PRIMARY KEY, sku text NOT NULL, qty int NOT NULL,
    price numeric(12,2) NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
const { template } = await cc.readConnectorFile("connectors/shop.json");
const vars = cc.connectorVariables({
  databaseUrl: st.env.DATABASE_URL as string,
  topicPrefix: schema,
  name: connector,
  tables: [`${schema}.items`],
  heartbeatTable: "public.sidecar_heartbeat",
});
const cfg = { ...cc.renderConnectorConfig(template, vars), ...JSON.parse(a.overrides as string) };
async function putConfig(config: Record<string, unknown>) {
  const put = await lib.request(`${st.env.KAFKA_CONNECT_URL}/connectors/${connector}/config`, {
    method: "PUT",
    body: config,
  });
  if (put.status >= 300) throw new Error(JSON.stringify(put.json));
}
await putConfig(cfg);
await pool.query(`INSERT INTO ${schema}.items (id, sku, qty, price) VALUES (0, 'seed', 0, 0)`);
const side = await lib.startSidecar(st, { PROJECTOR_TOPICS: topic, TOPIC_PREFIX: schema });
const count = async () => {
  const r = await lib.request(`${side.readUrl}/api/tables/${schema}__items/count`).catch(() => undefined);
  return Number(r?.json?.data?.count ?? -1);
};
const topicEnd = async () =>
  (await admin.fetchTopicOffsets(topic)).reduce((s: number, o: { high: string }) => s + Number(o.high), 0);
while ((await count()) < 1) await lib.sleep(200);
let nextId = 1;
async function insertRows(rows: number) {
  await lib.insertItems(pool, schema, nextId, rows);
  nextId += rows;
}
/** CPU seconds of the Kafka and Connect JVMs so far, by kind of thread. */
function jvmThreads(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [n, pid] of Object.entries(st.pids() as Record<string, number>)) {
    if (n === "postgres") continue;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        const comm = readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim();
        const f = (readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
        const k = `${n}:${/Compiler/.test(comm) ? "jit" : /GC|G1/.test(comm) ? "gc" : "work"}`;
        out[k] = (out[k] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
      } catch {
        // the thread ended between the listing and the read
      }
    }
  }
  return out;
}
async function round(rows: number, label: string) {
  const th0 = jvmThreads();
  const c0 = await count();
  const e0 = await topicEnd();
  const cpu = lib.cpuSampler(() => ({ ...st.pids(), ...side.pids() }));
  const t0 = performance.now();
  let tTopic = 0;
  const ins = insertRows(rows);
  for (;;) {
    if (!tTopic && (await topicEnd()) - e0 >= rows) tTopic = performance.now();
    if ((await count()) - c0 >= rows) break;
    await lib.sleep(100);
  }
  await ins;
  const secs = (performance.now() - t0) / 1000;
  const u = cpu.stop();
  const per = Object.fromEntries(
    Object.entries(u.cpuSecondsUsed as Record<string, number>).map(([k, v]) => [k, lib.round((v * 1e6) / rows, 1)]),
  );
  const th1 = jvmThreads();
  const threads = Object.fromEntries(
    Object.keys(th1).map((k) => [k, lib.round((((th1[k] ?? 0) - (th0[k] ?? 0)) * 1e6) / rows, 1)]),
  );
  const out = {
    label,
    threads,
    rowsPerSec: Math.round(rows / secs),
    debeziumRowsPerSec: Math.round(rows / ((tTopic - t0) / 1000)),
    cpuUsPerRow: per,
    busy: u.machineBusyPercent,
    load: (loadavg()[0] ?? 0).toFixed(1),
  };
  console.log(JSON.stringify(out));
  return out;
}
/** Applies a connector config and waits until a new row of it has gone all the way through. */
async function switchTo(config: Record<string, unknown>) {
  await putConfig(config);
  await lib.sleep(3000); // Connect stops the old task and starts the new one
  const c0 = await count();
  await insertRows(1);
  while ((await count()) <= c0) await lib.sleep(200);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
type Round = Awaited<ReturnType<typeof round>>;
function summary(label: string, rs: Round[]) {
  const total = (r: Round) => Object.entries(r.cpuUsPerRow).reduce((t, [k, v]) => (k === "bench" ? t : t + v), 0);
  const work = (r: Round) => (r.threads["kafka:work"] ?? 0) + (r.threads["connect:work"] ?? 0);
  return {
    label,
    rounds: rs.length,
    rowsPerSec: median(rs.map((r) => r.rowsPerSec)),
    pipelineCpuUsPerRow: lib.round(median(rs.map(total)), 1),
    byProcess: Object.fromEntries(
      Object.keys(rs[0]?.cpuUsPerRow ?? {}).map((k) => [k, lib.round(median(rs.map((r) => r.cpuUsPerRow[k] ?? 0)), 1)]),
    ),
    kafkaAndConnectWorkThreads: lib.round(median(rs.map(work)), 1),
  };
}
try {
  await round(Number(a.warm), "warm-up");
  const alternate = a.alternate ? { ...cfg, ...JSON.parse(a.alternate) } : undefined;
  const sides: { base: Round[]; alternate: Round[] } = { base: [], alternate: [] };
  for (let i = 0; i < Number(a.rounds); i++) {
    if (alternate) await switchTo(cfg);
    sides.base.push(await round(ROWS, `round ${i + 1}${alternate ? " (as configured)" : ""}`));
    if (!alternate) continue;
    await switchTo(alternate);
    sides.alternate.push(await round(ROWS, `round ${i + 1} (--alternate)`));
  }
  if (alternate)
    console.log(
      JSON.stringify({
        alternate: a.alternate,
        sides: [summary("as configured", sides.base), summary("--alternate", sides.alternate)],
      }),
    );
} finally {
  await side.stop();
  await lib.request(`${st.env.KAFKA_CONNECT_URL}/connectors/${connector}`, { method: "DELETE" }).catch(() => undefined);
  for (let i = 0; i < 60; i++) {
    const r = await pool.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [vars.SLOT_NAME]);
    if (r.rowCount === 0) break;
    if (!r.rows[0].active) {
      await pool.query("SELECT pg_drop_replication_slot($1)", [vars.SLOT_NAME]).catch(() => undefined);
      break;
    }
    await lib.sleep(500);
  }
  await pool.query(`DROP PUBLICATION IF EXISTS "${vars.PUBLICATION_NAME}"`).catch(() => undefined);
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  await pool.end();
  await st.close();
}
process.exit(0);
