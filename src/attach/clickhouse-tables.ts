import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConversionError } from "../cdc/types.js";
import { type ClickHouse, openClickHouse, openedHere, parseClickHouseUrl } from "../clickhouse/client.js";
import { createDatabaseSql, createTableSql } from "../projector/ddl.js";
import type { Config } from "../shared/config.js";
import type { PgPool } from "../shared/postgres.js";
import { catalogShape, readCatalog } from "./catalog.js";
import { type TableRef, tableName } from "./tables.js";

/**
 * Opens the projection's ClickHouse for an admin command (attach, verify) run beside the sidecar.
 * A server: always. Embedded chDB: only when no other process holds the data directory (the
 * running sidecar does) — undefined then. The lock is tested first with flock(1), as ClickHouse
 * takes it, so chDB never prints its own "Cannot lock file" exception at the user.
 */
export async function openProjectionClickHouse(config: Config): Promise<ClickHouse | undefined> {
  const target = parseClickHouseUrl(config.CLICKHOUSE_URL);
  if (target.kind === "http") return openClickHouse(config.CLICKHOUSE_URL);
  // Held by another process; this one's own lock (a test, a CLI that opened it) shares the client.
  if (!openedHere(config.CLICKHOUSE_URL) && embeddedHeld(target.location)) return undefined;
  try {
    return await openClickHouse(config.CLICKHOUSE_URL);
  } catch (err) {
    if (/lock|Failed to create connection/i.test((err as Error).message)) return undefined;
    throw err;
  }
}

/**
 * Whether another process holds an embedded ClickHouse directory: ClickHouse keeps an exclusive
 * flock on its `status` file while it runs. Undefined when this cannot be told (no flock command).
 */
export function embeddedHeld(dir: string): boolean | undefined {
  const status = join(dir, "status");
  if (!existsSync(status)) return false;
  const r = spawnSync("flock", ["-n", "-E", "75", status, "true"], { stdio: "ignore" });
  if (r.error) return undefined;
  return r.status === 75;
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
