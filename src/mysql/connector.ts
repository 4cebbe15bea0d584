import { createHash } from "node:crypto";
import { type TableRef, tableName } from "../attach/tables.js";
import type { ConnectClient } from "../connect/connect-client.js";
import { includedTables, tableIncludeRegex } from "../connect/connector-config.js";
import type { MysqlSource } from "./source.js";

/**
 * A one-row-per-connector table in the source: the connector's heartbeat writes its row every
 * half second, so an idle binlog still moves, and the beat's time dates every change before it in the
 * binlog (the freshness of the attachment's tables, src/projector/binlog-clock.ts).
 */
export const BEAT_TABLE: TableRef = { schema: "sidecar", table: "beat" };

/**
 * The beat of a connector (its name is [a-z0-9_]: attachNames checks). UTC_TIMESTAMP, not NOW:
 * DATETIME has no zone, and the projector reads the value as UTC whatever the server's zone.
 */
export const beatSql = (connector: string) =>
  `INSERT INTO ${tableName(BEAT_TABLE)} (connector, beat_at) VALUES ('${connector}', UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE beat_at = VALUES(beat_at)`;

/** The signal table attach creates in the source (incremental snapshots for attach --add). */
/**
 * The connector's own Debezium signal table: an incremental snapshot writes its window markers
 * there, and connectors sharing one table read each other's (Postgres saw a snapshot end with no rows).
 */
export const signalTable = (connector: string): TableRef => ({ schema: "sidecar", table: `signal_${connector}` });

const CONNECTOR_CLASS = {
  mysql: "io.debezium.connector.mysql.MySqlConnector",
  mariadb: "io.debezium.connector.mariadb.MariaDbConnector",
} as const;

/** The topic of a connector's schema history (its own, one per attachment; two-part name: never a table's topic). */
export const schemaHistoryTopic = (topicPrefix: string, connector: string) =>
  `${topicPrefix}.__schema_history_${connector}`;

/** The topic of a connector's notifications (two-part name: never a table's topic). */
export const notificationTopic = (topicPrefix: string, connector: string) =>
  `${topicPrefix}.__notifications_${connector}`;

/**
 * The binlog client's server id: every reader of a server's binlog needs its own, so it is derived
 * from the connector's name (a range clear of the small ids servers themselves use).
 */
export function binlogClientId(connector: string): string {
  const h = createHash("sha256").update(connector).digest().readUInt32BE(0);
  return String(100_000 + (h % 2_000_000_000));
}

/**
 * The Debezium connector of a MySQL/MariaDB attachment. The value handling matches what the
 * projector's type mapping expects (src/cdc/types.ts) and the catalog's description of it
 * (src/mysql/catalog.ts): exact decimals as text, BIGINT UNSIGNED exact, microsecond times, bytes
 * as hex, source types on every field.
 */
export function mysqlConnectorConfig(opts: {
  source: MysqlSource;
  connector: string;
  topicPrefix: string;
  kafkaBrokers: string;
  tables: TableRef[];
}): Record<string, string> {
  const captured = [...opts.tables, signalTable(opts.connector), BEAT_TABLE];
  return {
    "connector.class": CONNECTOR_CLASS[opts.source.flavor],
    "tasks.max": "1",
    "database.hostname": opts.source.host,
    "database.port": String(opts.source.port),
    "database.user": opts.source.user,
    "database.password": opts.source.password,
    "database.server.id": binlogClientId(opts.connector),
    "topic.prefix": opts.topicPrefix,
    "table.include.list": captured.map((t) => tableIncludeRegex(tableName(t))).join(","),
    // The tables' DDL as the binlog saw it, so events after a schema change decode with the right
    // columns. Every table's DDL is kept (not only the captured ones'): a table added later by
    // attach --add must be known to the history before its incremental snapshot.
    "schema.history.internal.kafka.bootstrap.servers": opts.kafkaBrokers,
    "schema.history.internal.kafka.topic": schemaHistoryTopic(opts.topicPrefix, opts.connector),
    "include.schema.changes": "false",
    // The tables' rows are copied by the sidecar (src/mysql/copy.ts) once the connector streams:
    // Debezium reads only the schema, under a short global read lock (RELOAD), and where the
    // binlog stands, then streams from there.
    "snapshot.mode": "no_data",
    "snapshot.locking.mode": "minimal",
    "decimal.handling.mode": "string",
    "bigint.unsigned.handling.mode": "precise",
    "time.precision.mode": "adaptive_time_microseconds",
    "binary.handling.mode": "hex",
    // The incremental snapshots (repair) read through a prepared statement, which the
    // MariaDB driver runs on the text protocol too, FLOAT then printed with 6 significant digits:
    // prepared on the server, rows come in the binary protocol, every FLOAT as its 4 bytes.
    ...(opts.source.flavor === "mariadb" ? { "database.useServerPrepStmts": "true" } : {}),
    "column.propagate.source.type": ".*",
    // TRUNCATE events too (the binlog connectors skip them by default).
    "skipped.operations": "none",
    "tombstones.on.delete": "true",
    // A heartbeat (and so a committed offset) about every half second, and with it a beat row
    // written into the source. Debezium beats only when a binlog event arrives and the interval
    // has passed: on an idle server the events are the server's own heartbeats (every 0.8 × the
    // keep-alive interval, 480 ms). With the interval at 500 ms a heartbeat came 479 ms after the
    // last beat, too early, and the next beat waited for the one after: a beat every 960 ms. At
    // 400 ms every server heartbeat beats. A beat dates the binlog once an offset has passed it,
    // which takes the next beat.
    "heartbeat.interval.ms": "400",
    "heartbeat.action.query": beatSql(opts.connector),
    "connect.keep.alive.interval.ms": "600",
    // repair: incremental snapshots, signalled through a table in the source.
    "signal.enabled.channels": "source",
    "signal.data.collection": tableName(signalTable(opts.connector)),
    "incremental.snapshot.chunk.size": "10000",
    // Snapshot progress as messages (repair waits for its re-snapshot's COMPLETED).
    "notification.enabled.channels": "sink",
    "notification.sink.topic.name": notificationTopic(opts.topicPrefix, opts.connector),
    "topic.creation.default.replication.factor": "1",
    "topic.creation.default.partitions": "1",
    "topic.creation.default.cleanup.policy": "delete",
    "poll.interval.ms": "20",
    "max.batch.size": "20480",
    "max.queue.size": "81920",
    "producer.override.linger.ms": "10",
    "extended.headers.enabled": "false",
    "producer.override.batch.size": "1048576",
    "custom.metric.tags": `connector=${opts.connector}`,
  };
}

/** The tables a connector captures (its table.include.list), the sidecar's own (signal, beat) left out. */
export async function capturedTables(connect: ConnectClient, connector: string): Promise<TableRef[] | undefined> {
  const config = await connect.getConfig(connector);
  return config ? includedTables(config) : undefined;
}
