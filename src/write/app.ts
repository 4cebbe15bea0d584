import { OpenAPIHono } from "@hono/zod-openapi";
import type { Registry } from "prom-client";
import { bearerAuth } from "../http/auth.js";
import { bodyLimit } from "../http/body-limit.js";
import { cors } from "../http/cors.js";
import { createErrorHandler, createNotFoundHandler } from "../http/error-handler.js";
import { httpMetrics } from "../http/metrics.js";
import { ApiError } from "../http/problem.js";
import { type RequestIdVariables, requestId } from "../http/request-id.js";
import { securityHeaders } from "../http/security-headers.js";
import { validationHook } from "../http/validation.js";
import type { Config } from "../shared/config.js";
import type { Logger } from "../shared/logger.js";
import { metricsRegistry } from "../shared/metrics.js";
import type { PgPool } from "../shared/postgres.js";
import { createCommandRunner } from "./command.js";
import { registerCustomerRoutes } from "./customers/routes.js";
import { createDbErrorTranslator } from "./db-errors.js";
import { registerOrderRoutes } from "./orders/routes.js";
import { registerProductRoutes } from "./products/routes.js";

export type WriteAppConfig = Pick<
  Config,
  "API_TOKEN" | "CORS_ORIGINS" | "WRITE_API_MAX_BODY_BYTES" | "WRITE_API_IDEMPOTENCY_TTL_HOURS"
>;

export interface WriteAppDeps {
  /** Pool the commands run on (src/shared/postgres.ts createPgPool). The app never ends it. */
  pool: PgPool;
  config: WriteAppConfig;
  log: Logger;
  /** Prometheus registry for /metrics and the request metrics. Default: the process registry. */
  registry?: Registry;
  /** Retry-After seconds on a 503 (database unavailable). Default 2. */
  retryAfterSeconds?: number;
  /** /ready gives up on Postgres after this many ms. Default 2000. */
  readyTimeoutMs?: number;
}

/** Paths of the commands: they need the bearer token and obey the body limit. */
const COMMAND_PATHS = ["/customers", "/customers/*", "/products", "/products/*", "/orders", "/orders/*"];

/**
 * The write API: commands of the shop domain, each one Postgres transaction, answering
 * with a consistency token. Plus /health, /ready, /metrics and /openapi.json (open, no token).
 */
export function createWriteApp(deps: WriteAppDeps): OpenAPIHono<{ Variables: RequestIdVariables }> {
  const { pool, config, log } = deps;
  const registry = deps.registry ?? metricsRegistry();
  const app = new OpenAPIHono<{ Variables: RequestIdVariables }>({ defaultHook: validationHook });

  app.onError(
    createErrorHandler({ log, translate: createDbErrorTranslator({ retryAfterSeconds: deps.retryAfterSeconds }) }),
  );
  app.notFound(createNotFoundHandler());
  app.use("*", securityHeaders());
  app.use("*", requestId());
  app.use("*", httpMetrics({ registry, prefix: "sidecar_write_" }));
  app.use("*", cors({ origins: config.CORS_ORIGINS }));
  if (config.API_TOKEN) {
    const auth = bearerAuth({ token: config.API_TOKEN });
    for (const path of COMMAND_PATHS) app.use(path, auth);
  } else {
    log.warn("API_TOKEN is empty: the write API accepts commands from anyone (local demos only)");
  }
  const limit = bodyLimit({ maxBytes: config.WRITE_API_MAX_BODY_BYTES });
  for (const path of COMMAND_PATHS) app.use(path, limit);

  const run = createCommandRunner({ pool, idempotencyTtlHours: config.WRITE_API_IDEMPOTENCY_TTL_HOURS });
  registerCustomerRoutes(app as unknown as OpenAPIHono, run);
  registerProductRoutes(app as unknown as OpenAPIHono, run);
  registerOrderRoutes(app as unknown as OpenAPIHono, run);
  registerOpsRoutes(app, { pool, registry, readyTimeoutMs: deps.readyTimeoutMs ?? 2_000 });

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.doc("/openapi.json", {
    openapi: "3.0.3",
    info: {
      title: "cqrs-sidecar write API",
      version: "1",
      description:
        "Commands of the demo shop. Each success answers with a consistency token (header X-Consistency-Token " +
        "and body consistencyToken): the Postgres WAL LSN (X/Y hex) read right after COMMIT. Errors are RFC 7807 " +
        "problem+json. Idempotency-Key: a retry with the same key returns the first answer; the same key with a " +
        "different request is a 422.",
    },
  });
  return app;
}

function registerOpsRoutes(
  app: OpenAPIHono<{ Variables: RequestIdVariables }>,
  { pool, registry, readyTimeoutMs }: { pool: PgPool; registry: Registry; readyTimeoutMs: number },
): void {
  app.get("/health", (c) => c.json({ status: "ok" }));

  app.get("/ready", async (c) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rejectTimeout) => {
      timer = setTimeout(() => rejectTimeout(new Error(`no answer within ${readyTimeoutMs} ms`)), readyTimeoutMs);
    });
    try {
      await Promise.race([pool.query("SELECT 1"), timeout]);
      return c.json({ status: "ready", postgres: "ok" });
    } catch (err) {
      throw new ApiError({
        status: 503,
        title: "Not Ready",
        detail: `postgres unreachable: ${err instanceof Error ? err.message : String(err)}`,
        headers: { "Retry-After": "2" },
      });
    } finally {
      clearTimeout(timer);
    }
  });

  app.get("/metrics", async (c) => {
    return c.body(await registry.metrics(), 200, { "content-type": registry.contentType });
  });
}
