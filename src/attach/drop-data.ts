import { targetTableName } from "../cdc/table.js";
import { openClickHouse, quoteIdent } from "../clickhouse/client.js";
import type { Config } from "../shared/config.js";
import type { TableRef } from "./tables.js";

/**
 * Drops an attachment's projected tables. With embedded ClickHouse the data directory
 * belongs to the running sidecar; opening it here fails while that runs, so say how to go on.
 */
export async function dropProjectedTables(config: Config, tables: TableRef[]): Promise<string[]> {
  let ch: Awaited<ReturnType<typeof openClickHouse>>;
  try {
    ch = await openClickHouse(config.CLICKHOUSE_URL);
  } catch (err) {
    throw new Error(
      `cannot open ClickHouse (${(err as Error).message}). With embedded ClickHouse stop the sidecar first (make down), then run detach --drop-data again`,
    );
  }
  const dropped: string[] = [];
  try {
    for (const t of tables) {
      const name = targetTableName(t.schema, t.table);
      const cluster = config.CLICKHOUSE_CLUSTER ? ` ON CLUSTER ${quoteIdent(config.CLICKHOUSE_CLUSTER)}` : "";
      await ch.command({
        query: `DROP TABLE IF EXISTS ${quoteIdent(config.CLICKHOUSE_DATABASE)}.${quoteIdent(name)}${cluster} SYNC`,
      });
      dropped.push(name);
    }
  } finally {
    await ch.close();
  }
  return dropped;
}
