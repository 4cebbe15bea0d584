import { ConnectClient } from "../connect/connect-client.js";
import type { ClickHouseSink } from "../projector/sink.js";
import type { ControlCommand } from "../shared/control.js";
import { type CopyResult, copySnapshot } from "./copy.js";

/**
 * The sidecar's side of the control topic's snapshot command: Postgres is reached with the
 * attachment connector's own database.* settings (Kafka Connect's REST API), so the CLI never
 * sends credentials over Kafka; progress (rows per table) is reported every second.
 */
export async function snapshotInSidecar(
  cmd: Extract<ControlCommand, { op: "snapshot" }>,
  deps: { connectUrl?: string; database?: string; sink: ClickHouseSink },
  progress: (rows: Record<string, number>) => Promise<unknown>,
): Promise<CopyResult> {
  if (!deps.connectUrl || !deps.database) throw new Error("this projector was started without Kafka Connect's URL");
  const config = await new ConnectClient(deps.connectUrl).getConfig(cmd.connector);
  if (!config) throw new Error(`no connector ${cmd.connector} on Kafka Connect`);
  const rows: Record<string, number> = {};
  const timer = setInterval(() => void progress({ ...rows }).catch(() => undefined), 1_000);
  try {
    return await copySnapshot(
      {
        databaseUrl: databaseUrlOf(config),
        snapshotName: cmd.snapshot,
        meta: { version: BigInt(cmd.version), lsn: BigInt(cmd.lsn), commitTs: cmd.commitTs },
        tables: cmd.tables,
        database: deps.database,
      },
      deps.sink,
      (table, n) => {
        rows[table] = (rows[table] ?? 0) + n;
      },
    );
  } finally {
    clearInterval(timer);
  }
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
