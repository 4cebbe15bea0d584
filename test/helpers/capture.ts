import { randomBytes } from "node:crypto";
import { ConnectClient } from "../../src/connect/connect-client.js";
import { connectorVariables, readConnectorFile, renderConnectorConfig } from "../../src/connect/connector-config.js";
import { createPgPool, type PgPool } from "../../src/shared/postgres.js";
import { registerTestResources, unregisterTestResources } from "./leftovers.js";
import type { StackEnv } from "./stack.js";

/**
 * A private capture for one integration test: its own Postgres schema, its own Debezium
 * connector (own name, topic prefix, slot, publication, heartbeat row), so tests never touch
 * the shared demo connector. `drop()` deletes the connector, its slot and publication, and
 * the schema.
 */
export interface Capture {
  id: string;
  schema: string;
  topicPrefix: string;
  connector: string;
  slot: string;
  pool: PgPool;
  /** Registers the connector for `tables` (bare names inside `schema`) and waits for RUNNING. */
  start(tables: string[], overrides?: Record<string, string>): Promise<void>;
  topic(table: string): string;
  heartbeatTopic: string;
  drop(): Promise<void>;
}

export async function createCapture(env: StackEnv, label: string): Promise<Capture> {
  const id = `${label}_${randomBytes(3).toString("hex")}`.toLowerCase();
  const schema = `t_${id}`;
  const topicPrefix = `t_${id}`;
  const connector = `t_${id}`;
  const pool = createPgPool(env.DATABASE_URL, { max: 4, applicationName: `test-${id}` });
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(
    "CREATE TABLE IF NOT EXISTS public.sidecar_heartbeat (slot_name text PRIMARY KEY, beat_at timestamptz NOT NULL)",
  );
  const connect = new ConnectClient(env.KAFKA_CONNECT_URL);
  const { template } = await readConnectorFile("connectors/shop.json");
  let slot = "";
  return {
    id,
    schema,
    topicPrefix,
    connector,
    get slot() {
      return slot;
    },
    pool,
    heartbeatTopic: `${topicPrefix}.public.sidecar_heartbeat`,
    topic: (table) => `${topicPrefix}.${schema}.${table}`,
    async start(tables, overrides = {}) {
      const vars = connectorVariables({
        databaseUrl: env.CONNECT_DATABASE_URL,
        topicPrefix,
        name: connector,
        tables: tables.map((t) => `${schema}.${t}`),
        heartbeatTable: "public.sidecar_heartbeat",
      });
      slot = vars.SLOT_NAME ?? "";
      await registerTestResources(env, {
        connector,
        slot,
        publication: vars.PUBLICATION_NAME ?? slot,
        schemas: [schema],
      });
      await connect.putConfig(connector, { ...renderConnectorConfig(template, vars), ...overrides });
      await connect.waitRunning(connector, 90_000);
    },
    async drop() {
      await connect.delete(connector).catch(() => false);
      // The slot stays active until the task has stopped: retry for a while.
      for (let i = 0; i < 60; i++) {
        const r = await pool.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slot]);
        if (r.rowCount === 0) break;
        if (!r.rows[0].active) {
          await pool.query("SELECT pg_drop_replication_slot($1)", [slot]).catch(() => undefined);
          break;
        }
        await new Promise((res) => setTimeout(res, 500));
      }
      await pool.query(`DROP PUBLICATION IF EXISTS ${slot}`).catch(() => undefined);
      await unregisterTestResources(env, connector).catch(() => undefined);
      await pool.query("DELETE FROM public.sidecar_heartbeat WHERE slot_name = $1", [slot]).catch(() => undefined);
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    },
  };
}

/** Waits until every topic exists on the broker (Debezium creates them on first event). */
export async function waitForTopics(brokers: string[], topics: string[], timeoutMs = 60_000): Promise<void> {
  const { createKafka } = await import("../../src/shared/kafka.js");
  const admin = createKafka(brokers, "test-wait-topics").admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw new Error(`topics not created within ${timeoutMs} ms: ${missing.join(", ")}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}
