import type { Admin } from "kafkajs";
import { AttachError, type AttachIO, type AttachRequest, assertSidecarRunning } from "../attach/attach.js";
import { openProjectionClickHouse } from "../attach/clickhouse-tables.js";
import { removeConnector } from "../attach/connector.js";
import { deleteAttachmentTopics } from "../attach/deleted-topics.js";
import { formatReport, type PreflightReport } from "../attach/preflight.js";
import { measureProgress } from "../attach/progress.js";
import { attachNames, type TableRef, tableName } from "../attach/tables.js";
import { ConversionError } from "../cdc/types.js";
import type { ClickHouse } from "../clickhouse/client.js";
import type { ConnectClient } from "../connect/connect-client.js";
import { createDatabaseSql, createTableSql } from "../projector/ddl.js";
import type { Config } from "../shared/config.js";
import { beat, binlogBytesBehind, binlogReaders, connectorBinlog, formatBinlog } from "./binlog.js";
import { mysqlShape, readMysqlCatalog } from "./catalog.js";
import {
  BEAT_TABLE,
  capturedTables,
  mysqlConnectorConfig,
  notificationTopic,
  schemaHistoryTopic,
  signalTable,
} from "./connector.js";
import { copyMysqlTables } from "./own-snapshot.js";
import { mysqlPreflight, tablesOfDatabase } from "./preflight.js";
import { type MysqlPool, type MysqlSource, quoteMy, rowsOf } from "./source.js";

/**
 * attach, attach --add, status and detach for a MySQL or MariaDB source: the steps of the Postgres
 * attachment (src/attach/attach.ts) with what a binlog source needs instead of a slot and a
 * publication: the connector's own consistent snapshot, a schema history topic, a signal table.
 */
export interface MysqlDeps {
  pool: MysqlPool;
  source: MysqlSource;
  admin: Admin;
  connect: ConnectClient;
  config: Config;
  io: AttachIO;
  /** The projection's ClickHouse; absent: opened from CLICKHOUSE_URL when no process holds it. */
  clickhouse?: ClickHouse;
}

async function selectTables(deps: MysqlDeps, req: AttachRequest): Promise<TableRef[]> {
  if (req.tables?.length) return req.tables;
  if (!req.schema) throw new AttachError("name the tables to attach: --tables db.a,db.b or --schema db");
  const found: TableRef[] = [];
  for (const db of req.schema
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const tables = await tablesOfDatabase(deps.pool, db);
    if (!tables.length) throw new AttachError(`database ${db} has no tables (or does not exist)`);
    found.push(...tables);
  }
  return found;
}

/** Preflight, printed; the tables to capture, or an AttachError naming what to fix. */
async function checked(deps: MysqlDeps, req: AttachRequest, refs: TableRef[]) {
  if (req.noKey === "full")
    throw new AttachError("--keyless full is for Postgres (the binlog already carries whole rows): use --keyless skip");
  const report = await mysqlPreflight(deps.pool, deps.source, refs);
  deps.io.out(formatReport(report));
  if (req.checkOnly || report.ok) return { report, tables: refs };
  const blocking = report.checks.filter((c) => !c.ok && c.severity === "error");
  if (req.noKey === "skip" && blocking.every((c) => c.id === "replica-identity")) {
    const keyless = new Set(report.tablesWithoutKey.map(tableName));
    deps.io.out(`leaving out (no primary key): ${[...keyless].join(", ")}`);
    return { report, tables: refs.filter((t) => !keyless.has(tableName(t))) };
  }
  throw new AttachError(
    blocking.every((c) => c.id === "replica-identity")
      ? "tables without a primary key: add one, or attach with --keyless skip (leave them out)"
      : "preflight failed: fix the problems above (nothing was changed), then run attach again",
  );
}

/** The attachment's helper tables in the source's `sidecar` database: the signal table, and a beat table (see detach). */
async function ensureHelperTables(pool: MysqlPool, connector: string) {
  const signal = signalTable(connector);
  const db = quoteMy(signal.schema);
  try {
    await pool.query(`CREATE DATABASE IF NOT EXISTS ${db}`);
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${db}.${quoteMy(signal.table)} (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data TEXT NULL)`,
    );
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${tableName(BEAT_TABLE)} (connector VARCHAR(64) PRIMARY KEY, beat_at DATETIME(6) NOT NULL)`,
    );
  } catch (err) {
    throw new AttachError(
      `cannot create the signal table ${tableName(signal)} (${(err as Error).message}); ` +
        `as an admin: CREATE DATABASE sidecar; GRANT CREATE, SELECT, INSERT, UPDATE, DELETE ON sidecar.* TO <the attach user>;`,
    );
  }
}

/** Exact counts below 5M rows (information_schema's estimate otherwise), for the progress bar. */
async function rowTotals(pool: MysqlPool, tables: TableRef[]): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const t of tables) {
    const [est] = await rowsOf<{ n: string | null }>(
      pool,
      "SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
      [t.schema, t.table],
    );
    const estimate = Number(est?.n ?? 0);
    if (estimate >= 5_000_000) totals.set(tableName(t), estimate);
    else {
      const [exact] = await rowsOf<{ n: string }>(
        pool,
        `SELECT COUNT(*) AS n FROM ${quoteMy(t.schema)}.${quoteMy(t.table)}`,
      );
      totals.set(tableName(t), Number(exact?.n ?? 0));
    }
  }
  return totals;
}

/** ClickHouse tables from the MySQL catalog with the projector's DDL (when this process can open ClickHouse). */
async function createTables(deps: MysqlDeps, tables: TableRef[]) {
  const ch = deps.clickhouse ?? (await openProjectionClickHouse(deps.config));
  if (!ch) {
    deps.io.out(
      "ClickHouse tables: the running sidecar holds the embedded ClickHouse; the projector creates each from its first event",
    );
    return;
  }
  const ddl = { database: deps.config.CLICKHOUSE_DATABASE, cluster: deps.config.CLICKHOUSE_CLUSTER };
  try {
    await ch.command({ query: createDatabaseSql(ddl) });
    const created: string[] = [];
    for (const ref of tables) {
      try {
        const shape = mysqlShape(await readMysqlCatalog(deps.pool, ref));
        await ch.command({ query: createTableSql(ddl, shape) });
        created.push(`${ddl.database}.${shape.target}`);
      } catch (err) {
        if (!(err instanceof ConversionError)) throw err;
      }
    }
    deps.io.out(
      `ClickHouse tables from the ${deps.source.flavor === "mariadb" ? "MariaDB" : "MySQL"} catalog: ${created.join(", ") || "(none)"}`,
    );
  } finally {
    if (!deps.clickhouse) await ch.close();
  }
}

function connectorConfig(deps: MysqlDeps, name: string, tables: TableRef[]) {
  return mysqlConnectorConfig({
    source: deps.source,
    connector: attachNames(name).connector,
    topicPrefix: deps.config.TOPIC_PREFIX,
    kafkaBrokers: deps.config.KAFKA_BROKERS.join(","),
    tables,
  });
}

/**
 * attach: preflight, signal table, ClickHouse tables, connector (schema only), then the sidecar's
 * copy of the rows (own-snapshot.ts) while the connector streams. A failed copy removes the
 * connector again, so attach can simply be run again.
 */
export async function attachMysql(deps: MysqlDeps, req: AttachRequest): Promise<PreflightReport> {
  const names = attachNames(req.name);
  const { report, tables } = await checked(deps, req, await selectTables(deps, req));
  if (req.checkOnly || !tables.length) return report;
  if (await deps.connect.status(names.connector))
    throw new AttachError(`attachment ${req.name} exists already: add tables with --add, or detach first`);
  await assertSidecarRunning(deps);
  await ensureHelperTables(deps.pool, names.connector);
  await createTables(deps, tables);
  await deps.connect.putConfig(names.connector, connectorConfig(deps, req.name, tables));
  try {
    await deps.connect.waitRunning(names.connector, 120_000);
    deps.io.out(
      `connector ${names.connector} RUNNING: it streams the binlog (topics ${deps.config.TOPIC_PREFIX}.<database>.<table>) while the sidecar copies ${tables.length} table(s)`,
    );
    await copyMysqlTables(deps, req.name, tables, await rowTotals(deps.pool, tables));
  } catch (err) {
    await removeConnector(deps.connect, names.connector).catch(() => undefined);
    deps.io.out(`attach failed; undone: connector ${names.connector} removed`);
    throw err;
  }
  return report;
}

/** attach --add: the connector widened (stopped meanwhile), then the sidecar's copy of the new tables. */
export async function addMysqlTables(deps: MysqlDeps, req: AttachRequest & { tables: TableRef[] }): Promise<void> {
  const names = attachNames(req.name);
  const current = await capturedTables(deps.connect, names.connector);
  if (!current) throw new AttachError(`no attachment named ${req.name}: run attach without --add first`);
  const known = new Set(current.map(tableName));
  const fresh = req.tables.filter((t) => !known.has(tableName(t)));
  if (!fresh.length) {
    deps.io.out("those tables are attached already; nothing to do");
    return;
  }
  const { tables } = await checked(deps, req, fresh);
  if (!tables.length) return;
  await assertSidecarRunning(deps);
  await ensureHelperTables(deps.pool, names.connector); // an attachment from before per-connector signal tables
  await createTables(deps, tables);
  // The running task filters by its include list: stop it, widen its config, resume; the copy's
  // snapshot is opened after it streams again, so every change of the new tables after it is streamed.
  await deps.connect.stop(names.connector);
  await deps.connect.waitState(names.connector, "STOPPED", 60_000);
  await deps.connect.putConfig(names.connector, connectorConfig(deps, req.name, [...current, ...tables]));
  await deps.connect.resume(names.connector);
  await deps.connect.waitRunning(names.connector, 120_000);
  deps.io.out(`connector ${names.connector} RUNNING again, now with ${tables.map(tableName).join(", ")}`);
  try {
    await copyMysqlTables(deps, req.name, tables, await rowTotals(deps.pool, tables));
  } catch (err) {
    throw new AttachError(
      `attach --add failed: ${(err as Error).message}. The tables stream already; copy each again with: ${tables.map((t) => `repair --table ${tableName(t)}`).join("; ")}`,
    );
  }
}

export async function mysqlStatus(deps: MysqlDeps, name: string) {
  const names = attachNames(name);
  const [connector, tables] = await Promise.all([
    deps.connect.status(names.connector),
    capturedTables(deps.connect, names.connector),
  ]);
  const at = connector ? await connectorBinlog(deps.config.KAFKA_CONNECT_URL, names.connector) : undefined;
  const lagBytes = at ? await binlogBytesBehind(deps.pool, at) : undefined;
  const totals = await rowTotals(deps.pool, tables ?? []);
  const progress = await measureProgress(deps.admin, deps.config.PROJECTOR_GROUP, deps.config.TOPIC_PREFIX, totals);
  return { names, connector, position: at ? formatBinlog(at) : undefined, lagBytes, tables: tables ?? [], progress };
}

/**
 * detach: the connector and its offsets, the attachment's table topics and schema history topic.
 * Then the server is checked: the binlog reader the connector had (a Binlog Dump thread) is gone.
 */
/** Removes an attachment; returns the tables it captured (their ClickHouse tables are kept). */
export async function detachMysql(deps: MysqlDeps, name: string): Promise<TableRef[]> {
  const names = attachNames(name);
  const tables = (await capturedTables(deps.connect, names.connector)) ?? [];
  const before = await binlogReaders(deps.pool);
  const removed = await removeConnector(deps.connect, names.connector);
  deps.io.out(
    removed ? `connector ${names.connector} removed (offsets deleted)` : `connector ${names.connector} was not there`,
  );
  const prefix = deps.config.TOPIC_PREFIX;
  const topics = [
    ...tables.map((t) => `${prefix}.${tableName(t)}`),
    schemaHistoryTopic(prefix, names.connector),
    notificationTopic(prefix, names.connector),
  ];
  await deleteAttachmentTopics(
    { admin: deps.admin, brokers: deps.config.KAFKA_BROKERS, topicPrefix: prefix, group: deps.config.PROJECTOR_GROUP },
    topics,
    deps.io,
  );
  if (!removed) return tables;
  const deadline = Date.now() + 30_000;
  for (;;) {
    // A dump thread whose reader has gone notices only when it next sends: a binlog event wakes it.
    await beat(deps.pool, names.connector).catch(() => undefined);
    const now = await binlogReaders(deps.pool);
    const left = before.filter((id) => now.includes(id));
    if (left.length < before.length || before.length === 0) {
      deps.io.out(`binlog readers on the server: ${now.length} (the connector's has ended)`);
      await deps.pool
        .query(`DELETE FROM ${tableName(BEAT_TABLE)} WHERE connector = ?`, [names.connector])
        .catch(() => undefined);
      const signal = signalTable(names.connector);
      await deps.pool
        .query(`DROP TABLE IF EXISTS ${quoteMy(signal.schema)}.${quoteMy(signal.table)}`)
        .catch(() => undefined);
      return tables;
    }
    if (Date.now() > deadline)
      throw new AttachError(
        `a binlog reader is still connected 30 s after the connector was removed (threads ${left.join(", ")}); see SHOW PROCESSLIST`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** An incremental-snapshot signal for these tables, written into a connector's signal table. */
export async function signalSnapshot(pool: MysqlPool, signal: TableRef, tables: TableRef[], id: string) {
  const data = JSON.stringify({ "data-collections": tables.map(tableName), type: "incremental" });
  await pool.query(
    `INSERT INTO ${quoteMy(signal.schema)}.${quoteMy(signal.table)} (id, type, data) VALUES (?, 'execute-snapshot', ?)`,
    [id, data],
  );
}
