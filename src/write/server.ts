import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Registry } from "prom-client";
import type { Config } from "../shared/config.js";
import { createLogger, type Logger } from "../shared/logger.js";
import { createPgPool, type PgPool } from "../shared/postgres.js";
import { createWriteApp } from "./app.js";

export interface StartWriteApiDeps {
  /** Pool to use; default: a new one on DATABASE_URL (max WRITE_API_PG_POOL_MAX), ended by close(). */
  pool?: PgPool;
  /** Default: a new logger at LOG_LEVEL. */
  log?: Logger;
  /** Default: the process registry (src/shared/metrics.ts). */
  registry?: Registry;
  /** Port to listen on; default WRITE_API_PORT (0 picks a free port). */
  port?: number;
  /** Interface to bind; default all interfaces. */
  hostname?: string;
}

export interface RunningWriteApi {
  port: number;
  url: string;
  /** Stops accepting connections, waits for open requests, then ends the pool if this call created it. */
  close: () => Promise<void>;
}

/** Serves the write API on WRITE_API_PORT with @hono/node-server. `cqrs-sidecar run write` calls this. */
export async function startWriteApi(config: Config, deps: StartWriteApiDeps = {}): Promise<RunningWriteApi> {
  const log = deps.log ?? createLogger(config.LOG_LEVEL, "cqrs-sidecar-write");
  const ownPool = !deps.pool;
  const pool =
    deps.pool ??
    createPgPool(config.DATABASE_URL, { max: config.WRITE_API_PG_POOL_MAX, applicationName: "cqrs-sidecar-write" });
  const app = createWriteApp({ pool, config, log, registry: deps.registry });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: deps.port ?? config.WRITE_API_PORT, hostname: deps.hostname }, () =>
      resolve(s),
    );
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, "write API listening");
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: async function closeWriteApi() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold close() open; idle ones go now, busy ones after their answer.
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      });
      if (ownPool) await pool.end();
      log.info("write API stopped");
    },
  };
}
