import pg from "pg";
import type { PgPool } from "../shared/postgres.js";
import { AttachError } from "./errors.js";
import type { TableRef } from "./tables.js";

/**
 * Where an attach stands, kept in the source database (sidecar.attachment) so that the next
 * attach knows an interrupted one: `copying` from before the slot is created until the copy is
 * in ClickHouse, then `copied`; `adding` while attach --add copies the tables in `pending`. An
 * attachment with a slot and no row predates this table and was copied.
 */
export type AttachState = "copying" | "copied" | "adding";

export async function attachState(pool: PgPool, name: string): Promise<AttachState | undefined> {
  const { rows } = await pool.query<{ state: AttachState }>("SELECT state FROM sidecar.attachment WHERE name = $1", [
    name,
  ]);
  return rows[0]?.state;
}

export async function setAttachState(pool: PgPool, name: string, state: AttachState): Promise<void> {
  await pool.query(
    `INSERT INTO sidecar.attachment (name, state) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, changed_at = now()`,
    [name, state],
  );
}

/** Tables an attach --add is copying, or was when it stopped: the next --add copies them again. */
export async function pendingAdd(pool: PgPool, name: string): Promise<TableRef[]> {
  const { rows } = await pool.query<{ pending: TableRef[] | null }>(
    "SELECT pending FROM sidecar.attachment WHERE name = $1 AND state = 'adding'",
    [name],
  );
  return rows[0]?.pending ?? [];
}

/** Records the tables an attach --add copies (state `adding`), or with none, that it is done (`copied`). */
export async function setPendingAdd(pool: PgPool, name: string, tables: TableRef[]): Promise<void> {
  await pool.query(
    `INSERT INTO sidecar.attachment (name, state, pending) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, pending = EXCLUDED.pending, changed_at = now()`,
    [
      name,
      tables.length ? "adding" : "copied",
      tables.length ? JSON.stringify(tables.map(({ schema, table }) => ({ schema, table }))) : null,
    ],
  );
}

export async function forgetAttachState(pool: PgPool, name: string): Promise<void> {
  await pool.query("DELETE FROM sidecar.attachment WHERE name = $1", [name]).catch(() => undefined);
}

/**
 * Holds a session advisory lock on the attachment's name for as long as one attach (or detach)
 * works on it: a second one at the same moment is told so instead of tearing the first one down.
 * The lock goes with the connection, so a killed attach never leaves it behind.
 */
export async function lockAttachment(databaseUrl: string, name: string): Promise<() => Promise<void>> {
  const c = new pg.Client({ connectionString: databaseUrl, application_name: `cqrs-sidecar attach ${name}` });
  c.on("error", () => {});
  await c.connect();
  const { rows } = await c.query<{ ok: boolean; holder: string | null }>(
    `SELECT pg_try_advisory_lock(hashtext('cqrs-sidecar attach ' || $1)) AS ok,
            (SELECT string_agg(a.pid::text, ', ') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.objid = hashtext('cqrs-sidecar attach ' || $1)::oid
                AND l.granted AND a.pid <> pg_backend_pid()) AS holder`,
    [name],
  );
  if (!rows[0]?.ok) {
    await c.end().catch(() => undefined);
    throw new AttachError(
      `another attach or detach of ${name} is running (Postgres backend ${rows[0]?.holder ?? "?"}); wait for it to end, then run this again`,
    );
  }
  return async () => {
    await c.end().catch(() => undefined);
  };
}
