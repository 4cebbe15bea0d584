import type { ConnectClient } from "../connect/connect-client.js";
import {
  connectorVariables,
  readConnectorFile,
  renderConnectorConfig,
  tableIncludeRegex,
} from "../connect/connector-config.js";
import { messageKeyColumns, type ProjectionKey } from "./projection-key.js";
import { helperTables } from "./source-setup.js";
import { attachNames, type TableRef, tableName } from "./tables.js";

/**
 * An attachment's Debezium connector: the demo connector's settings (connectors/shop.json:
 * same type handling, heartbeats, envelope) with what differs for a database the sidecar
 * did not create. One file of settings, so the two never drift apart.
 */
const ATTACH_OVERRIDES = {
  // attach creates the slot and copies the tables itself (src/attach/own-snapshot.ts); Debezium
  // only streams from the slot's consistent point.
  "snapshot.mode": "no_data",
  // The attachment creates the publication itself, for exactly its tables (partitions via their root).
  "publication.autocreate.mode": "disabled",
  "heartbeat.action.query":
    "INSERT INTO sidecar.heartbeat (slot_name, beat_at) VALUES ('${SLOT_NAME}', now()) ON CONFLICT (slot_name) DO UPDATE SET beat_at = EXCLUDED.beat_at",
  // Incremental snapshots of tables added later (attach --add), signalled through this table.
  "signal.enabled.channels": "source",
  "signal.data.collection": "${SIGNAL_TABLE}",
  "incremental.snapshot.chunk.size": "10000",
  // Snapshot progress as messages (repair waits for its re-snapshot's COMPLETED); one-part topic
  // name, so the projector never takes it for a table's topic.
  "notification.enabled.channels": "sink",
  "notification.sink.topic.name": "${TOPIC_PREFIX}.__notifications_${SLOT_NAME}",
  "snapshot.fetch.size": "10000",
};

export async function attachConnectorConfig(opts: {
  databaseUrl: string;
  topicPrefix: string;
  /** The attachment's name (its signal table). */
  name: string;
  connector: string;
  slot: string;
  publication: string;
  tables: TableRef[];
  /** Columns left out of the change events (schema.table.column): the generated ones, see catalog.ts. */
  excludeColumns?: string[];
  /** Tables keyed by an index instead of a primary key, and its columns (projection-key.ts). */
  indexKeys?: { table: string; key: ProjectionKey }[];
}): Promise<Record<string, string>> {
  const { template } = await readConnectorFile("connectors/shop.json");
  const vars = {
    ...connectorVariables({
      databaseUrl: opts.databaseUrl,
      topicPrefix: opts.topicPrefix,
      name: opts.connector,
      tables: [...opts.tables, ...helperTables(opts.name)].map(tableName),
    }),
    SLOT_NAME: opts.slot,
    SIGNAL_TABLE: tableName(attachNames(opts.name).signal),
    PUBLICATION_NAME: opts.publication,
  };
  const config = renderConnectorConfig({ ...template, ...ATTACH_OVERRIDES }, vars, `attachment ${opts.connector}`);
  if (opts.excludeColumns?.length) config["column.exclude.list"] = opts.excludeColumns.map(tableIncludeRegex).join(",");
  // Debezium keys a message by the primary key; without one, by the columns named here.
  const keys = messageKeyColumns(opts.indexKeys ?? [], tableIncludeRegex);
  if (keys) config["message.key.columns"] = keys;
  return config;
}

/** The topic an attachment's connector writes its notifications to (see ATTACH_OVERRIDES). */
export const notificationTopic = (topicPrefix: string, slot: string): string =>
  `${topicPrefix}.__notifications_${slot}`;

/** Asks Debezium for an incremental snapshot of these tables (the others keep streaming, no restart). */
export function incrementalSnapshotSignal(tables: TableRef[]) {
  return {
    type: "execute-snapshot",
    data: JSON.stringify({ "data-collections": tables.map(tableName), type: "incremental" }),
  };
}

/**
 * Removes a connector for good: stop it, delete its stored source offsets (so a later
 * attach under the same name snapshots afresh instead of resuming from a dropped slot),
 * then delete it. Kafka Connect 3.6+ supports offset deletion on a stopped connector.
 */
export async function removeConnector(client: ConnectClient, name: string): Promise<boolean> {
  const status = await client.status(name);
  if (!status) return false;
  await client.stop(name);
  await client.waitState(name, "STOPPED", 30_000);
  await client.deleteOffsets(name);
  const deleted = await client.delete(name);
  // Connect answers the DELETE before its status store forgets the connector; detach
  // promises it is gone, so wait until the status says so.
  const deadline = Date.now() + 30_000;
  while ((await client.status(name)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return deleted;
}
