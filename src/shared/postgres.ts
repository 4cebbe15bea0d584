import pg from "pg";

/**
 * The one Postgres pool factory. Timeouts are set so that a Postgres that is down
 * or stuck turns into a fast error (the write API answers 503), never a hang.
 */
export function createPgPool(connectionString: string, opts: { max?: number; applicationName?: string } = {}) {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 20,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 10_000,
    query_timeout: 15_000,
    application_name: opts.applicationName ?? "cqrs-sidecar",
  });
  // An idle client that loses its connection emits 'error' on the pool; without a
  // listener that would crash the process when Postgres restarts.
  pool.on("error", () => {});
  return pool;
}

export type PgPool = pg.Pool;
