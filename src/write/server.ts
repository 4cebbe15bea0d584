import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Registry } from "prom-client";
import { assertSafeExposure, writeApiExposure } from "../http/exposure.js";
import type { Config } from "../shared/config.js";
import { createLogger, type Logger } from "../shared/logger.js";
import { createPgPool, type PgPool } from "../shared/postgres.js";
import { createWriteApp } from "./app.js";
import { startIdempotencyPruner } from "./idempotency-pruner.js";

export interface StartWriteApiDeps {
  /** Pool to use; default: a new one on DATABASE_URL (max WRITE_API_PG_POOL_MAX), ended by close(). */
  pool?: PgPool;
  /** Default: a new logger at LOG_LEVEL. */
  log?: Logger;
  /** Default: the process registry (src/shared/metrics.ts). */
  registry?: Registry;
  /** Port to listen on; default WRITE_API_PORT (0 picks a free port). */
  port?: number;
  /** Interface to bind; default WRITE_API_HOST (127.0.0.1). Anything but loopback needs API_TOKEN. */
  hostname?: string;
  /** Time between prunes of expired idempotency keys, ms; default 15 minutes. */
  pruneIntervalMs?: number;
}

export interface RunningWriteApi {
  /** The address it listens on, as the socket reports it (127.0.0.1 by default). */
  host: string;
  port: number;
  url: string;
  /** Stops accepting connections, waits for open requests, then ends the pool if this call created it. */
  close: () => Promise<void>;
}

/**
 * Serves the write API on WRITE_API_HOST:WRITE_API_PORT with @hono/node-server, and prunes
 * idempotency keys older than WRITE_API_IDEMPOTENCY_TTL_HOURS. `cqrs-sidecar run write` calls this.
 */
export async function startWriteApi(config: Config, deps: StartWriteApiDeps = {}): Promise<RunningWriteApi> {
  const hostname = deps.hostname ?? config.WRITE_API_HOST;
  assertSafeExposure(writeApiExposure(config, hostname));
  const log = deps.log ?? createLogger(config.LOG_LEVEL, "cqrs-sidecar-write");
  const ownPool = !deps.pool;
  const pool =
    deps.pool ??
    createPgPool(config.DATABASE_URL, { max: config.WRITE_API_PG_POOL_MAX, applicationName: "cqrs-sidecar-write" });
  const app = createWriteApp({ pool, config, log, registry: deps.registry });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: deps.port ?? config.WRITE_API_PORT, hostname }, () => resolve(s));
    s.once("error", reject);
  });
  const { address: host, port } = server.address() as AddressInfo;
  log.info({ host: hostname, port }, "write API listening");
  const pruner = startIdempotencyPruner({
    pool,
    ttlHours: config.WRITE_API_IDEMPOTENCY_TTL_HOURS,
    log,
    intervalMs: deps.pruneIntervalMs,
  });
  return {
    host,
    port,
    url: `http://127.0.0.1:${port}`,
    close: async function closeWriteApi() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold close() open; idle ones go now, busy ones after their answer.
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      });
      await pruner.stop();
      if (ownPool) await pool.end();
      log.info("write API stopped");
    },
  };
}
