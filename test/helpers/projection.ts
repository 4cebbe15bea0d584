import { type ClickHouse, queryRows, quoteIdent } from "../../src/clickhouse/client.js";
import { parseLsn } from "../../src/shared/lsn.js";
import type { PgPool } from "../../src/shared/postgres.js";

/** The write side's consistency token: the WAL insert position right now. */
export async function currentToken(pool: PgPool): Promise<bigint> {
  const r = await pool.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn");
  return parseLsn(r.rows[0]?.lsn ?? "");
}

/** Rows of a projected table as FINAL sees them, without the bookkeeping columns. */
export async function finalRows(
  ch: ClickHouse,
  db: string,
  table: string,
  orderBy = "1",
): Promise<Record<string, unknown>[]> {
  return queryRows(
    ch,
    `SELECT * EXCEPT (_version, _deleted, _commit_ts, _lsn) FROM ${quoteIdent(db)}.${quoteIdent(table)} FINAL ORDER BY ${orderBy}`,
  );
}
