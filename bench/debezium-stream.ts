/**
 * Debezium's streaming alone, by connector settings: a new connector (connectors/shop.json plus
 * a variant's overrides) on a new table of the shared stack, 200,000 rows inserted in 10,000-row
 * transactions, time until the topic holds every row.
 *
 *   node --import tsx bench/debezium-stream.ts [shipped|producer|both|noheartbeat]
 */
import pg from "pg";
import { dropSlotAndPublication } from "../src/attach/source-setup.js";
import { ConnectClient } from "../src/connect/connect-client.js";
import { connectorVariables, readConnectorFile, renderConnectorConfig } from "../src/connect/connector-config.js";
import { createKafka } from "../src/shared/kafka.js";

const variant = process.argv[2] ?? "shipped";
const overrides: Record<string, Record<string, string>> = {
  shipped: {},
  // The settings shipped before 29 Nov 15:10.
  before: {
    "producer.override.batch.size": "16384",
    "producer.override.linger.ms": "5",
    "max.batch.size": "4096",
    "max.queue.size": "16384",
  },
  noheartbeat: { "heartbeat.interval.ms": "0", "heartbeat.action.query": "" },
};
const tag = `st${Date.now() % 100000}`;
const schema = tag,
  name = tag;
const db = new pg.Pool({ connectionString: "postgres://postgres:postgres@127.0.0.1:55432/shop", max: 2 });
await db.query(
  `CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.items (id bigint PRIMARY KEY, sku text NOT NULL, qty int NOT NULL, price numeric(12,2) NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
);
const { template } = await readConnectorFile("connectors/shop.json");
const vars = connectorVariables({
  databaseUrl: "postgres://postgres:postgres@127.0.0.1:55432/shop",
  topicPrefix: name,
  name,
  tables: [`${schema}.items`],
  heartbeatTable: "public.sidecar_heartbeat",
});
const cfg = { ...renderConnectorConfig(template, vars, name), ...overrides[variant] };
for (const [k, v] of Object.entries(cfg)) if (v === "") delete cfg[k];
const client = new ConnectClient("http://127.0.0.1:8083");
await client.putConfig(name, cfg);
await client.waitRunning(name, 60000);
const kafka = createKafka(["127.0.0.1:9092"], "stream-exp");
const admin = kafka.admin();
await admin.connect();
await new Promise((r) => setTimeout(r, 3000));
const N = 200000;
const t0 = performance.now();
for (let i = 0; i < N; i += 10000)
  await db.query(
    `INSERT INTO ${schema}.items (id, sku, qty, price) SELECT g, 'SKU-' || g, g % 100, g / 100.0 FROM generate_series($1::bigint, $2::bigint) g`,
    [i + 1, i + 10000],
  );
const tIns = performance.now();
const topic = `${name}.${schema}.items`;
for (;;) {
  const o = await admin.fetchTopicOffsets(topic).catch(() => []);
  const n = o.reduce((s, p) => s + Number(p.high), 0);
  if (n >= N) break;
  await new Promise((r) => setTimeout(r, 100));
}
const t1 = performance.now();
console.log(
  `${variant}: insert ${((tIns - t0) / 1000).toFixed(1)} s; on topic ${((t1 - t0) / 1000).toFixed(1)} s = ${Math.round(N / ((t1 - t0) / 1000))} rows/s`,
);
await client.delete(name);
await new Promise((r) => setTimeout(r, 2000));
await dropSlotAndPublication(db as never, vars.SLOT_NAME!, vars.PUBLICATION_NAME!).catch((e) => console.log(String(e)));
await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
await admin.disconnect();
await db.query(`DROP SCHEMA ${schema} CASCADE`);
await db.end();
