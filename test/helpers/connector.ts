import pg from "pg";
import { dropSlotAndPublication as dropSlot } from "../../src/attach/source-setup.js";
import { ConnectClient } from "../../src/connect/connect-client.js";
import { connectorVariables, readConnectorFile, renderConnectorConfig } from "../../src/connect/connector-config.js";
import { registerTestResources, unregisterTestResources } from "./leftovers.js";
import type { StackEnv } from "./stack.js";

/**
 * A Debezium connector of the test's own (own name, topic prefix, slot, publication),
 * built from the project's connectors/shop.json template, so tests never disturb the
 * demo connector. `drop()` deletes the connector and then its slot and publication.
 */
export async function ownConnector(env: StackEnv, name: string, tables: string[]) {
  const client = new ConnectClient(env.KAFKA_CONNECT_URL);
  const { template } = await readConnectorFile("connectors/shop.json");
  const vars = connectorVariables({
    databaseUrl: env.CONNECT_DATABASE_URL,
    topicPrefix: name,
    name,
    tables,
    heartbeatTable: "public.sidecar_heartbeat",
  });
  const config = renderConnectorConfig(template, vars, name);
  const apply = async () => {
    await registerTestResources(env, {
      connector: name,
      slot: vars.SLOT_NAME!,
      publication: vars.PUBLICATION_NAME!,
      schemas: [...new Set(tables.map((t) => t.split(".")[0] as string))],
    });
    await client.putConfig(name, config);
    await client.waitRunning(name, 60_000);
  };
  const drop = async () => {
    await client.delete(name);
    await dropSlotAndPublication(env.DATABASE_URL, vars.SLOT_NAME!, vars.PUBLICATION_NAME!);
    await unregisterTestResources(env, name);
  };
  return { client, config, vars, apply, drop, topic: (table: string) => `${name}.${table}` };
}

async function dropSlotAndPublication(databaseUrl: string, slot: string, publication: string) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    await dropSlot(pool, slot, publication);
  } finally {
    await pool.end();
  }
}
