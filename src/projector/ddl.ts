import type { ColumnSpec, TableShape } from "../cdc/table.js";
import { quoteIdent as q } from "../clickhouse/client.js";

/**
 * DDL text for the projection (pure, unit tested). Every projected table:
 *   <source columns…>, _version UInt64 (source LSN), _deleted UInt8, _commit_ts DateTime64(6,'UTC'), _lsn UInt64
 *   ENGINE ReplacingMergeTree(_version, _deleted) ORDER BY (<primary key>)
 * With a cluster name: ON CLUSTER and ReplicatedReplacingMergeTree.
 */
export interface DdlOptions {
  database: string;
  cluster?: string | undefined;
}

export const META_COLUMNS = [
  { name: "_version", sql: "UInt64" },
  { name: "_deleted", sql: "UInt8" },
  { name: "_commit_ts", sql: "DateTime64(6, 'UTC')" },
  { name: "_lsn", sql: "UInt64" },
] as const;

export const PROGRESS_TABLE = "_sidecar_progress";
/** Degraded marks per projected table (see table-health.ts); the newest row per table wins. */
export const HEALTH_TABLE = "_sidecar_table_health";
/** The row of the progress table that holds the published consistency watermark. */
export const WATERMARK_ROW = "__watermark__";
/** The row holding the watermark for reads of one projected table (see WatermarkTracker.currentFor). */
export const tableWatermarkRow = (target: string): string => `${WATERMARK_ROW}:${target}`;

const onCluster = (o: DdlOptions) => (o.cluster ? ` ON CLUSTER ${q(o.cluster)}` : "");

function engine(o: DdlOptions, args: string): string {
  return o.cluster
    ? `ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}'${args ? `, ${args}` : ""})`
    : `ReplacingMergeTree(${args})`;
}

export function createDatabaseSql(o: DdlOptions): string {
  return `CREATE DATABASE IF NOT EXISTS ${q(o.database)}${onCluster(o)}`;
}

export function columnDefinition(c: ColumnSpec): string {
  return `${q(c.name)} ${c.type.sql}`;
}

export function createTableSql(o: DdlOptions, shape: TableShape): string {
  const cols = [...shape.columns.map(columnDefinition), ...META_COLUMNS.map((m) => `${q(m.name)} ${m.sql}`)];
  return [
    `CREATE TABLE IF NOT EXISTS ${q(o.database)}.${q(shape.target)}${onCluster(o)} (`,
    cols.map((c) => `  ${c}`).join(",\n"),
    `) ENGINE = ${engine(o, "_version, _deleted")}`,
    `ORDER BY (${shape.keys.map(q).join(", ")})`,
    `COMMENT ${quoteString(`projection of ${shape.schema}.${shape.table}`)}`,
  ].join("\n");
}

export function addColumnSql(o: DdlOptions, target: string, c: ColumnSpec): string {
  return `ALTER TABLE ${q(o.database)}.${q(target)}${onCluster(o)} ADD COLUMN IF NOT EXISTS ${columnDefinition(c)}`;
}

export function dropTableSql(o: DdlOptions, target: string): string {
  return `DROP TABLE IF EXISTS ${q(o.database)}.${q(target)}${onCluster(o)} SYNC`;
}

/**
 * Forgets what the progress table knows of a table dropped on purpose (detach --drop-data): a
 * later attach creating it again is then a new table, not one "dropped by hand" (sink.ensureTable).
 * Takes the table as the query parameter {t:String}.
 */
export function forgetProgressSql(o: DdlOptions): string {
  return `DELETE FROM ${q(o.database)}.${q(PROGRESS_TABLE)}${onCluster(o)} WHERE \`table\` = {t:String}`;
}

export function modifyColumnSql(o: DdlOptions, target: string, c: ColumnSpec): string {
  return `ALTER TABLE ${q(o.database)}.${q(target)}${onCluster(o)} MODIFY COLUMN ${columnDefinition(c)}`;
}

export function createProgressTableSql(o: DdlOptions): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${q(o.database)}.${q(PROGRESS_TABLE)}${onCluster(o)} (`,
    "  `table` String,",
    "  `source` String,",
    "  `last_lsn` UInt64,",
    "  `last_commit_ts` DateTime64(6, 'UTC'),",
    "  `updated_at` DateTime64(6, 'UTC')",
    `) ENGINE = ${engine(o, "updated_at")}`,
    "ORDER BY (`table`)",
  ].join("\n");
}

export function createHealthTableSql(o: DdlOptions): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${q(o.database)}.${q(HEALTH_TABLE)}${onCluster(o)} (`,
    "  `table` String,",
    "  `source` String,",
    "  `degraded` UInt8,",
    "  `reason` String,",
    "  `since` DateTime64(6, 'UTC'),",
    "  `updated_at` DateTime64(6, 'UTC')",
    `) ENGINE = ${engine(o, "updated_at")}`,
    "ORDER BY (`table`)",
  ].join("\n");
}

/**
 * Truncate as version-aware delete markers: every row still live whose version is older than
 * the truncate gets a newer row with _deleted = 1. Rows written after the truncate (higher LSN,
 * e.g. during a replay) are untouched, so replaying a truncate is harmless.
 */
export function truncateMarkersSql(o: DdlOptions, shape: Pick<TableShape, "target" | "keys">): string {
  const t = `${q(o.database)}.${q(shape.target)}`;
  const keys = shape.keys.map(q).join(", ");
  return [
    `INSERT INTO ${t} (${keys}, _version, _deleted, _commit_ts, _lsn)`,
    `SELECT ${keys}, {lsn:UInt64}, 1, {commit_ts:DateTime64(6, 'UTC')}, {lsn:UInt64}`,
    `FROM ${t} FINAL WHERE _version < {lsn:UInt64}`,
  ].join("\n");
}

function quoteString(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}
