import type pg from "pg";
import type { PgPool } from "../shared/postgres.js";

/**
 * The consistency token: the Postgres WAL insert position read on the same connection
 * right after COMMIT (`SELECT pg_current_wal_insert_lsn()::text`), in Postgres' text
 * form `X/Y` (two hex halves, e.g. `0/1A2B3C4`; parse with src/shared/lsn.ts). Every
 * change of the committed transaction sits in the WAL before it, so once the projector
 * has applied everything up to this LSN, the write is visible on the read side.
 */
export type ConsistencyToken = string;

export interface TxResult<T> {
  result: T;
  token: ConsistencyToken;
}

export interface TransactionOptions {
  /** Extra attempts after a deadlock or serialization failure (the whole function reruns). Default 2. */
  retries?: number;
}

const RETRYABLE = new Set(["40P01", "40001"]); // deadlock_detected, serialization_failure

function isRetryable(err: unknown): boolean {
  return typeof err === "object" && err !== null && RETRYABLE.has((err as { code?: string }).code ?? "");
}

/**
 * Runs `fn` in one READ COMMITTED transaction on one pooled connection. On success it
 * commits and returns the result with the consistency token; on any error it rolls back
 * (nothing is written) and rethrows. COMMIT and the token read travel in one round trip.
 */
export async function withTransaction<T>(
  pool: PgPool,
  fn: (client: pg.PoolClient) => Promise<T>,
  { retries = 2 }: TransactionOptions = {},
): Promise<TxResult<T>> {
  for (let attempt = 0; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      let result: T;
      try {
        result = await fn(client);
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
        throw err;
      }
      const token = await commitAndReadToken(client);
      return { result, token };
    } catch (err) {
      if (!isRetryable(err)) broken ||= isConnectionError(err);
      if (attempt < retries && isRetryable(err)) continue;
      throw err;
    } finally {
      // A connection that failed mid-transaction is destroyed, not returned to the pool.
      client.release(broken ? true : undefined);
    }
  }
}

async function commitAndReadToken(client: pg.PoolClient): Promise<ConsistencyToken> {
  const results = (await client.query("COMMIT; SELECT pg_current_wal_insert_lsn()::text AS lsn")) as unknown as [
    pg.QueryResult,
    pg.QueryResult<{ lsn: string }>,
  ];
  const [commit, lsn] = results;
  // COMMIT of a transaction that failed answers ROLLBACK instead of raising.
  if (commit.command !== "COMMIT") throw new Error(`transaction was rolled back at COMMIT (${commit.command})`);
  const token = lsn.rows[0]?.lsn;
  if (!token) throw new Error("pg_current_wal_insert_lsn() returned nothing");
  return token;
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? "";
  return code.startsWith("08") || code.startsWith("57P") || code.startsWith("E");
}
