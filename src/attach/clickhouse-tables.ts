import { ConversionError } from "../cdc/types.js";
import { type ClickHouse, openClickHouse, parseClickHouseUrl } from "../clickhouse/client.js";
import { createDatabaseSql, createTableSql } from "../projector/ddl.js";
import type { Config } from "../shared/config.js";
import type { PgPool } from "../shared/postgres.js";
import { catalogShape, readCatalog } from "./catalog.js";
import { type TableRef, tableName } from "./tables.js";

/**
 * Opens the projection's ClickHouse for an admin command (attach, verify) run beside the sidecar.
 * A server: always. Embedded chDB: only when no other process holds the data directory (the
 * running sidecar does; chDB then refuses with "Cannot lock file …/status") — undefined then.
 */
export async function openProjectionClickHouse(config: Config): Promise<ClickHouse | undefined> {
  if (parseClickHouseUrl(config.CLICKHOUSE_URL).kind === "http") return openClickHouse(config.CLICKHOUSE_URL);
  try {
    return await openClickHouse(config.CLICKHOUSE_URL);
  } catch (err) {
    if (/lock|Failed to create connection/i.test((err as Error).message)) return undefined;
    throw err;
  }
}

export interface CreatedTables {
  created: string[];
  /** Tables without a primary key: not projected (see README, "Attach to an existing database"). */
  keyless: string[];
}

/**
 * Creates the ClickHouse tables of these source tables from the Postgres catalog, with the
 * projector's own DDL (CREATE TABLE IF NOT EXISTS: harmless when the projector was first).
 * An empty source table is then visible in the read API before any event arrives.
 */
export async function createProjectedTables(
  pool: PgPool,
  ch: ClickHouse,
  config: Pick<Config, "CLICKHOUSE_DATABASE" | "CLICKHOUSE_CLUSTER">,
  tables: TableRef[],
): Promise<CreatedTables> {
  const ddl = { database: config.CLICKHOUSE_DATABASE, cluster: config.CLICKHOUSE_CLUSTER };
  await ch.command({ query: createDatabaseSql(ddl) });
  const out: CreatedTables = { created: [], keyless: [] };
  for (const ref of tables) {
    const cat = await readCatalog(pool, ref);
    let shape: ReturnType<typeof catalogShape>;
    try {
      shape = catalogShape(cat);
    } catch (err) {
      if (err instanceof ConversionError && cat.primaryKey.length === 0) {
        out.keyless.push(tableName(ref));
        continue;
      }
      throw err;
    }
    await ch.command({ query: createTableSql(ddl, shape) });
    out.created.push(`${config.CLICKHOUSE_DATABASE}.${shape.target}`);
  }
  return out;
}
