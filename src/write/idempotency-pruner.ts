import type { Logger } from "../shared/logger.js";
import type { PgPool } from "../shared/postgres.js";
import { pruneIdempotencyKeys } from "./idempotency.js";

export interface IdempotencyPrunerOptions {
  pool: PgPool;
  /** WRITE_API_IDEMPOTENCY_TTL_HOURS: keys older than this are deleted. */
  ttlHours: number;
  log: Logger;
  /** Time between prunes, ms. Default 15 minutes: a key outlives its TTL by at most that. */
  intervalMs?: number;
}

export interface IdempotencyPruner {
  /** One prune now; resolves with the number of keys deleted. */
  pruneNow(): Promise<number>;
  /** Stops the timer and waits for a prune in progress. */
  stop(): Promise<void>;
}

/**
 * Keeps sidecar.idempotency_keys from growing forever: prunes once at start, then every
 * `intervalMs`. A failure (Postgres away) is logged and tried again at the next tick.
 * Several write processes may prune at once; SKIP LOCKED keeps them out of each other's way.
 */
export function startIdempotencyPruner({
  pool,
  ttlHours,
  log,
  intervalMs = 15 * 60_000,
}: IdempotencyPrunerOptions): IdempotencyPruner {
  let running: Promise<number> | undefined;
  const pruneNow = (): Promise<number> => {
    running ??= pruneIdempotencyKeys(pool, ttlHours)
      .then((n) => {
        if (n > 0) log.info({ deleted: n, ttlHours }, "idempotency keys pruned");
        return n;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const tick = () =>
    void pruneNow().catch((err: unknown) => log.warn({ err }, "pruning idempotency keys failed; next try later"));
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    pruneNow,
    stop: async function stopIdempotencyPruner() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
