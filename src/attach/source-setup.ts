import type { PgPool } from "../shared/postgres.js";
import { attachNames, quoteIdent, quoteTable, type TableRef } from "./tables.js";

/**
 * What an attachment creates in the source database, and nothing else: a `sidecar`
 * schema with the heartbeat and attach state tables and the attachment's own Debezium signal
 * table, one publication and one replication slot.
 */
export const helperTables = (name: string): TableRef[] => [
  { schema: "sidecar", table: "heartbeat" },
  attachNames(name).signal,
];

export async function ensureHelperTables(pool: PgPool, name: string): Promise<void> {
  // Two attaches at once would race on CREATE … IF NOT EXISTS (a unique violation in the catalog).
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    await c.query("SELECT pg_advisory_xact_lock(hashtext('cqrs-sidecar helper tables'))");
    await c.query("CREATE SCHEMA IF NOT EXISTS sidecar");
    await c.query(
      "CREATE TABLE IF NOT EXISTS sidecar.heartbeat (slot_name text PRIMARY KEY, beat_at timestamptz NOT NULL)",
    );
    // The shape Debezium's source signal channel expects.
    await c.query(
      `CREATE TABLE IF NOT EXISTS ${quoteTable(attachNames(name).signal)} (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))`,
    );
    // Where each attach stands (src/attach/attach-state.ts); not published.
    await c.query(
      "CREATE TABLE IF NOT EXISTS sidecar.attachment (name text PRIMARY KEY, state text NOT NULL, changed_at timestamptz NOT NULL DEFAULT now())",
    );
    // attach --add's tables. Only when missing: ALTER needs the owner, and a later attach may run as another user.
    const { rows } = await c.query(
      "SELECT 1 FROM pg_attribute WHERE attrelid = 'sidecar.attachment'::regclass AND attname = 'pending' AND NOT attisdropped",
    );
    if (!rows.length) await c.query("ALTER TABLE sidecar.attachment ADD COLUMN pending jsonb");
    await c.query("COMMIT");
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/** Publication for exactly these tables (plus the helper tables); partitions publish as their root. */
export async function ensurePublication(
  pool: PgPool,
  attachment: string,
  tables: TableRef[],
): Promise<"created" | "updated"> {
  const name = attachNames(attachment).publication;
  const list = [...tables, ...helperTables(attachment)].map(quoteTable).join(", ");
  const { rowCount } = await pool.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [name]);
  if (rowCount) {
    await pool.query(`ALTER PUBLICATION ${quoteIdent(name)} SET TABLE ${list}`);
    return "updated";
  }
  await pool.query(`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${list} WITH (publish_via_partition_root = true)`);
  return "created";
}

export async function publicationTables(pool: PgPool, name: string): Promise<TableRef[]> {
  const { rows } = await pool.query<{ schema: string; table: string }>(
    "SELECT schemaname AS schema, tablename AS table FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2",
    [name],
  );
  return rows.filter((r) => r.schema !== "sidecar");
}

/** Drops the slot (waiting for its walsender to go) and the publication. Safe to repeat. */
export async function dropSlotAndPublication(pool: PgPool, slot: string, publication: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ active_pid: number | null }>(
      "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1",
      [slot],
    );
    if (rows.length === 0) break;
    if (rows[0]!.active_pid === null) {
      await pool.query("SELECT pg_drop_replication_slot($1)", [slot]);
      break;
    }
    // The connector is gone but its walsender may linger a moment; after a grace period end it.
    if (Date.now() > deadline - timeoutMs / 2)
      await pool.query("SELECT pg_terminate_backend($1)", [rows[0]!.active_pid]);
    if (Date.now() > deadline)
      throw new Error(`replication slot ${slot} is still in use by pid ${rows[0]!.active_pid}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await pool.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(publication)}`);
}

/** Slot state and how many bytes of WAL it holds back on the source. */
export async function slotLag(pool: PgPool, slot: string) {
  const { rows } = await pool.query<{ active: boolean; lag_bytes: string | null; wal_status: string | null }>(
    `SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text AS lag_bytes, wal_status
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const r = rows[0];
  return r
    ? { exists: true, active: r.active, lagBytes: Number(r.lag_bytes ?? 0), walStatus: r.wal_status }
    : { exists: false as const };
}
