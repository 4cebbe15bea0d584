import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Capture, createCapture, waitForTopics } from "../helpers/capture.js";
import { alertExprs, dashboardQueries, exposedNames, metricNamesIn } from "../helpers/metric-names.js";
import { stackEnv } from "../helpers/stack.js";

/**
 * The sidecar's metrics as Prometheus scrapes them: `cqrs-sidecar run project` from this working
 * tree, in its own process on the real stack (its own ClickHouse directory, consumer group and
 * metrics port), beside a connector of this test's own. Its /metrics must hold every series the
 * Grafana dashboard and the alert rules query, and the pipeline series must tell the truth about
 * the connector, its task, its slot and the projector group's lag.
 */
const ROOT = join(import.meta.dirname, "../..");
const OPS = join(ROOT, "ops");
const env = stackEnv();
let cap: Capture;
let child: ChildProcess | undefined;
let chdbDir = "";
let metricsUrl = "";
let output = "";

/** The value of the sample `name{labels…}` in a /metrics answer, undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = line.match(/^([A-Za-z_:][\w:]*)(\{.*\})?\s+(\S+)$/);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? "").includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

async function scrape(): Promise<string> {
  const res = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  return res.text();
}

async function scrapeUntil(what: string, ok: (text: string) => boolean, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    last = await scrape().catch(() => "");
    if (last && ok(last)) return last;
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}\n--- last /metrics ---\n${last}\n--- sidecar output ---\n${output}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  cap = await createCapture(env, "pm");
  await cap.pool.query(`CREATE TABLE ${cap.schema}.items (id int PRIMARY KEY, v text)`);
  await cap.pool.query(`INSERT INTO ${cap.schema}.items VALUES (1, 'one')`);
  await cap.start(["items"]);
  await waitForTopics(env.KAFKA_BROKERS.split(","), [cap.topic("items")]);
  chdbDir = mkdtempSync(join(tmpdir(), "pm-chdb-"));
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}`;
  // node --import tsx: the signal reaches the process that holds the chDB directory.
  child = spawn(process.execPath, ["--import", "tsx", "src/main/cli.ts", "run", "project"], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: env.DATABASE_URL,
      CONNECT_DATABASE_URL: env.CONNECT_DATABASE_URL,
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      KAFKA_CONNECT_URL: env.KAFKA_CONNECT_URL,
      CLICKHOUSE_URL: `chdb:${chdbDir}`,
      CLICKHOUSE_DATABASE: "pm",
      TOPIC_PREFIX: cap.topicPrefix,
      PROJECTOR_GROUP: `g_${cap.id}`,
      DLQ_TOPIC: `${cap.topicPrefix}_dlq`,
      PROJECTOR_METRICS_HOST: "127.0.0.1",
      PROJECTOR_METRICS_PORT: String(port),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (c: Buffer) => (output += c.toString("utf8")));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString("utf8")));
}, 180_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child!.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  await cap?.drop();
  if (chdbDir) rmSync(chdbDir, { recursive: true, force: true });
}, 120_000);

describe("pipeline metrics of a sidecar process on the real stack", () => {
  it("its connector and task RUNNING, its slot reserved and active, with a lag in bytes", async () => {
    const c = { connector: cap.connector };
    const slot = { connector: cap.connector, slot: cap.slot };
    const text = await scrapeUntil(
      "the test's connector, task and slot on /metrics",
      (t) =>
        sample(t, "sidecar_connector_state", { ...c, state: "RUNNING" }) === 1 &&
        sample(t, "sidecar_replication_slot_active", slot) === 1,
    );
    expect(sample(text, "sidecar_connect_up")).toBe(1);
    expect(sample(text, "sidecar_connector_state", { ...c, state: "FAILED" })).toBe(0);
    expect(sample(text, "sidecar_connector_task_state", { ...c, task: "0", state: "RUNNING" })).toBe(1);
    expect(sample(text, "sidecar_connector_tasks", c)).toBe(1);
    expect(sample(text, "sidecar_source_database_up", c)).toBe(1);
    expect(sample(text, "sidecar_replication_slot_wal_status", { ...slot, wal_status: "reserved" })).toBe(1);
    expect(sample(text, "sidecar_replication_slot_wal_status", { ...slot, wal_status: "lost" })).toBe(0);
    expect(sample(text, "sidecar_replication_slot_lag_bytes", slot)).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it("the projector group's lag, read from Kafka: 0 once the row is projected", async () => {
    const topic = { topic: cap.topic("items"), partition: "0" };
    const text = await scrapeUntil(
      "the group's committed offset on the test's topic",
      (t) => sample(t, "sidecar_projector_group_lag", topic) === 0,
    );
    expect(sample(text, "sidecar_projector_group_lag_up")).toBe(1);
    expect(sample(text, "sidecar_projector_offset_before_log_start", topic)).toBe(0);
  }, 120_000);

  it("exports every series the Grafana dashboard and the alert rules query", async () => {
    const exported = exposedNames(await scrape());
    const panels = dashboardQueries(join(OPS, "grafana/cqrs-sidecar.json"));
    expect(panels.length).toBeGreaterThanOrEqual(15);
    const dashboard = panels.flatMap((p) => p.exprs.flatMap(metricNamesIn).map((n) => `${p.title}: ${n}`));
    expect(dashboard.length).toBeGreaterThanOrEqual(panels.length);
    expect(dashboard.filter((d) => !exported.has(d.split(": ").pop()!))).toEqual([]);
    const alerts = alertExprs(join(OPS, "prometheus/alerts.yml")).flatMap((a) =>
      metricNamesIn(a.expr).map((n) => `${a.alert}: ${n}`),
    );
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    // up is Prometheus's own series, one per scrape target.
    expect(alerts.filter((a) => !a.endsWith(": up") && !exported.has(a.split(": ").pop()!))).toEqual([]);
  }, 60_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
