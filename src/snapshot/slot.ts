import pg from "pg";
import { parseLsn } from "../shared/lsn.js";

/**
 * A logical replication slot created by the sidecar with an exported snapshot: the snapshot is
 * exactly the database as of the slot's consistent point, so a copy made inside it plus every
 * change the slot streams afterwards is the whole table, once. The snapshot stays importable only
 * while the creating (replication) connection is open and idle: keep it until the copy is done.
 */
export interface ExportedSlot {
  slot: string;
  /** The slot's consistent point: streaming starts with transactions committing after it. */
  consistentPoint: bigint;
  /**
   * The WAL insert position read just before the slot was created. Every change the slot will
   * stream was written after it (a transaction writing earlier had an xid the slot waits for
   * before it is consistent, so that transaction is inside the snapshot); every row projected
   * before this attachment carries a lower LSN. The snapshot rows' version sits just below it.
   */
  startLsn: bigint;
  /** For SET TRANSACTION SNAPSHOT. */
  snapshotName: string;
  /** When the slot was created ('YYYY-MM-DD HH:MM:SS.ffffff' UTC), the snapshot rows' _commit_ts. */
  createdAt: string;
  /** Closes the replication connection (the snapshot is gone afterwards; the slot stays). */
  release(): Promise<void>;
}

/** _version of snapshot rows: below every change the slot streams, above every older projected row. */
export const snapshotVersion = (slot: Pick<ExportedSlot, "startLsn">): bigint => slot.startLsn - 2n;

/**
 * `temporary`: the slot lives only for the copy (attach --add: the attachment's own slot keeps
 * streaming, and this one only pins the snapshot and its position); Postgres drops it with the
 * connection, also when the process is killed.
 */
export async function createExportedSlot(databaseUrl: string, slot: string, temporary = false): Promise<ExportedSlot> {
  const pool = new pg.Client({ connectionString: databaseUrl });
  await pool.connect();
  const before = await pool
    .query<{ lsn: string; now: string }>(
      "SELECT pg_current_wal_insert_lsn()::text AS lsn, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS now",
    )
    .finally(() => pool.end());
  const startLsn = parseLsn(before.rows[0]!.lsn);
  const createdAt = before.rows[0]!.now;
  const rep = new pg.Client({ connectionString: databaseUrl, replication: "database" } as pg.ClientConfig);
  await rep.connect();
  try {
    // The pre-15 spelling; PostgreSQL 15+ still accepts it.
    const r = await rep.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT "${slot}"${temporary ? " TEMPORARY" : ""} LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const row = r.rows[0]!;
    return {
      slot,
      consistentPoint: parseLsn(row.consistent_point),
      startLsn,
      snapshotName: row.snapshot_name,
      createdAt,
      release: async () => {
        await rep.end().catch(() => undefined);
      },
    };
  } catch (err) {
    await rep.end().catch(() => undefined);
    throw new Error(`creating replication slot ${slot} failed: ${(err as Error).message}`);
  }
}
