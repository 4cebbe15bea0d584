import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../shared/config.js";
import type { Logger } from "../shared/logger.js";
import type { PgPool } from "../shared/postgres.js";
import { ConnectClient } from "./connect-client.js";
import { connectorVariables, readConnectorFile, renderConnectorConfig } from "./connector-config.js";

/**
 * Debezium's heartbeat.action.query writes here every heartbeat: a change that flows
 * through the slot in commit order, so the projector's watermark moves even when the
 * captured tables are idle, and the slot's WAL is released on a quiet database.
 */
export const HEARTBEAT_TABLE = "public.sidecar_heartbeat";

export async function ensureHeartbeatTable(pool: PgPool): Promise<void> {
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${HEARTBEAT_TABLE} (slot_name text PRIMARY KEY, beat_at timestamptz NOT NULL)`,
  );
}

export const CONNECTORS_DIR = "connectors";

/** Applies every connectors/*.json (PUT, so re-running changes nothing) and waits for RUNNING. */
export async function applyConnectors(
  config: Config,
  pool: PgPool,
  log: Logger,
  opts: { dir?: string; wait?: boolean; timeoutMs?: number } = {},
): Promise<string[]> {
  const dir = opts.dir ?? CONNECTORS_DIR;
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  if (files.length === 0) throw new Error(`no connector configs in ${dir}/`);
  const client = new ConnectClient(config.KAFKA_CONNECT_URL);
  await ensureHeartbeatTable(pool);
  const applied: string[] = [];
  for (const file of files) {
    const { name, template } = await readConnectorFile(join(dir, file));
    const vars = connectorVariables({
      databaseUrl: config.CONNECT_DATABASE_URL ?? config.DATABASE_URL,
      topicPrefix: config.TOPIC_PREFIX,
      name,
      tables: config.CAPTURE_TABLES,
      heartbeatTable: HEARTBEAT_TABLE,
    });
    await client.putConfig(name, renderConnectorConfig(template, vars, file));
    log.info({ connector: name, slot: vars.SLOT_NAME, tables: vars.TABLE_INCLUDE_LIST }, "connector config applied");
    if (opts.wait !== false) await client.waitRunning(name, opts.timeoutMs);
    applied.push(name);
  }
  return applied;
}
