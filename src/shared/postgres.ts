import pg from "pg";

/**
 * The one Postgres pool factory. Timeouts are set so that a Postgres that is down
 * or stuck turns into a fast error (the write API answers 503), never a hang.
 */
export function createPgPool(
  connectionString: string,
  opts: { max?: number; applicationName?: string; idleTimeoutMillis?: number } = {},
) {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 20,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: opts.idleTimeoutMillis ?? 30_000,
    statement_timeout: 10_000,
    query_timeout: 15_000,
    application_name: opts.applicationName ?? "cqrs-sidecar",
  });
  // A client that loses its connection emits 'error' (on the pool when idle, on the client
  // itself when checked out); without listeners that crashes the process when Postgres
  // restarts. The failure still reaches the caller as a rejected query (then a 503).
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

export type PgPool = pg.Pool;
