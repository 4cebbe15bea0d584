import type { TableRef } from "../attach/tables.js";
import { ConnectClient, whileConnectAway } from "../connect/connect-client.js";
import { copyMysqlSnapshot } from "../mysql/copy.js";
import { type MysqlSource, openMysql } from "../mysql/source.js";
import type { ClickHouseSink } from "../projector/sink.js";
import type { ControlCommand } from "../shared/control.js";
import { type CopyResult, copySnapshot } from "./copy.js";

/**
 * The sidecar's side of the control topic's snapshot command: Postgres is reached with the
 * attachment connector's own database.* settings (Kafka Connect's REST API), so the CLI never
 * sends credentials over Kafka; progress (rows per table) is reported every second.
 */
export async function snapshotInSidecar(
  cmd: Extract<ControlCommand, { op: "snapshot" | "mysql-snapshot" }>,
  deps: { connectUrl?: string; database?: string; sink: ClickHouseSink },
  progress: (rows: Record<string, number>) => Promise<unknown>,
): Promise<CopyResult> {
  if (!deps.connectUrl || !deps.database) throw new Error("this projector was started without Kafka Connect's URL");
  const config = await connectorConfig(new ConnectClient(deps.connectUrl), cmd.connector);
  const database = deps.database;
  const rows: Record<string, number> = {};
  const onRows = (table: string, n: number) => {
    rows[table] = (rows[table] ?? 0) + n;
  };
  const timer = setInterval(() => void progress({ ...rows }).catch(() => undefined), 1_000);
  try {
    if (cmd.op === "mysql-snapshot") return await copyMysqlInSidecar(config, cmd.tables, deps.sink, database, onRows);
    return await copySnapshot(
      {
        databaseUrl: databaseUrlOf(config),
        snapshotName: cmd.snapshot,
        meta: { version: BigInt(cmd.version), lsn: BigInt(cmd.lsn), commitTs: cmd.commitTs },
        tables: cmd.tables,
        database,
      },
      deps.sink,
      onRows,
    );
  } finally {
    clearInterval(timer);
  }
}

async function copyMysqlInSidecar(
  config: Record<string, string>,
  tables: TableRef[],
  sink: ClickHouseSink,
  database: string,
  onRows: (table: string, n: number) => void,
) {
  const pool = await openMysql(mysqlSourceOf(config), 2);
  try {
    return await copyMysqlSnapshot(pool, tables, sink, database, onRows);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** The MySQL/MariaDB server of a Debezium binlog connector's database.* settings. */
export function mysqlSourceOf(config: Record<string, string>): MysqlSource {
  const flavor = /mariadb/i.test(config["connector.class"] ?? "") ? "mariadb" : "mysql";
  return {
    flavor,
    scheme: flavor,
    host: config["database.hostname"] ?? "localhost",
    port: Number(config["database.port"] ?? "3306"),
    user: config["database.user"] ?? "",
    password: config["database.password"] ?? "",
  };
}

/** postgres:// URL from a Debezium Postgres connector's database.* settings. */
export function databaseUrlOf(config: Record<string, string>): string {
  const url = new URL("postgres://localhost");
  url.hostname = config["database.hostname"] ?? "localhost";
  url.port = config["database.port"] ?? "5432";
  url.username = encodeURIComponent(config["database.user"] ?? "");
  url.password = encodeURIComponent(config["database.password"] ?? "");
  url.pathname = `/${encodeURIComponent(config["database.dbname"] ?? "")}`;
  return url.toString();
}

/**
 * The connector's config, which attach wrote just before asking for the copy: a Kafka Connect
 * restarting meanwhile answers nothing, then 404 until it has read its config topic again.
 */
async function connectorConfig(connect: ConnectClient, connector: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const config = await whileConnectAway(() => connect.getConfig(connector), deadline - Date.now());
    if (config) return config;
    if (Date.now() > deadline) throw new Error(`no connector ${connector} on Kafka Connect`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
