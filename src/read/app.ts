import { serve } from "@hono/node-server";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { type ClickHouse, openClickHouse, parseClickHouseUrl } from "../clickhouse/client.js";
import { bearerAuth } from "../http/auth.js";
import { cors } from "../http/cors.js";
import { createErrorHandler, createNotFoundHandler } from "../http/error-handler.js";
import { assertSafeExposure, readApiExposure } from "../http/exposure.js";
import { httpMetrics } from "../http/metrics.js";
import { ApiError } from "../http/problem.js";
import { requestId } from "../http/request-id.js";
import { PAGE_CSP, securityHeaders } from "../http/security-headers.js";
import { validationHook } from "../http/validation.js";
import type { Config } from "../shared/config.js";
import { createLogger, type Logger } from "../shared/logger.js";
import { isLsn, parseLsn } from "../shared/lsn.js";
import { metricsRegistry } from "../shared/metrics.js";
import { createCatalogLoader } from "./catalog.js";
import type { DomainTables } from "./dashboard.js";
import {
  degradedAmong,
  type FreshnessSource,
  freshnessBlock,
  waitForLsn,
  watermarkOf,
  withDegraded,
} from "./freshness.js";
import { exactJson } from "./json.js";
import { dashboardAsset, dashboardHtml, dashboardStylesheet } from "./page/serve.js";
import { progressTableFreshness } from "./progress.js";
import { createQueryRunner, translateClickHouseError } from "./query.js";
import type { ReadEnv } from "./routes/common.js";
import { dashboardTablesRead, registerDashboardRoutes } from "./routes/dashboard-routes.js";
import { registerTableRoutes } from "./routes/table-routes.js";

/** Header a read carries to see its own write: the write API's X-Consistency-Token. */
export const CONSISTENCY_HEADER = "X-Consistency-Token";

/** The projected tables of the demo shop (the projector names them `<schema>__<table>`). */
export const DEFAULT_DOMAIN_TABLES: DomainTables = {
  customers: "shop__customers",
  products: "shop__products",
  orders: "shop__orders",
  orderLines: "shop__order_lines",
};

export interface ReadAppLimits {
  /** Longest wait for a consistency token, ms (READ_WAIT_MS). */
  waitMs: number;
  /** Most rows per answer and largest limit (READ_MAX_ROWS). */
  maxRows: number;
  /** ClickHouse max_execution_time per query, seconds (READ_MAX_EXECUTION_SECONDS). */
  maxExecutionSeconds: number;
  /** Widest dashboard time range, days (READ_MAX_RANGE_DAYS). */
  maxRangeDays: number;
  /** /ready fails when the watermark is older than this, ms (READ_READY_MAX_LAG_MS). */
  readyMaxLagMs: number;
}

export interface ReadAppDeps {
  /** ClickHouse the reads run on (src/clickhouse/client.ts openClickHouse). The app never closes it. */
  clickhouse: ClickHouse;
  /** Projection database (CLICKHOUSE_DATABASE). */
  database: string;
  /** Where the watermark comes from: projectorFreshness(projector) or progressTableFreshness(...). */
  freshness: FreshnessSource;
  log: Logger;
  limits: ReadAppLimits;
  /** Bearer token for /api/* (READ_API_TOKEN). Empty: open API (local demos only). */
  token: string;
  /** CORS origins (CORS_ORIGINS); empty: CORS off. */
  corsOrigins?: string[];
  /**
   * Send readonly=2 with each query. Default true: right for embedded chDB (shared with the projector)
   * and for a server user without a readonly profile; set false for a user whose profile pins readonly.
   */
  enforceReadonly?: boolean;
  /** Table names of the demo domain; default DEFAULT_DOMAIN_TABLES. */
  domainTables?: DomainTables;
  /** Prometheus registry. Default: the process registry. */
  registry?: Registry;
  /** Catalog cache time, ms. Default 2000. */
  catalogTtlMs?: number;
}

export type ReadAppConfig = Pick<
  Config,
  | "CLICKHOUSE_DATABASE"
  | "READ_API_TOKEN"
  | "CORS_ORIGINS"
  | "READ_WAIT_MS"
  | "READ_MAX_ROWS"
  | "READ_MAX_EXECUTION_SECONDS"
  | "READ_MAX_RANGE_DAYS"
  | "READ_READY_MAX_LAG_MS"
>;

export function readLimitsFromConfig(config: ReadAppConfig): ReadAppLimits {
  return {
    waitMs: config.READ_WAIT_MS,
    maxRows: config.READ_MAX_ROWS,
    maxExecutionSeconds: config.READ_MAX_EXECUTION_SECONDS,
    maxRangeDays: config.READ_MAX_RANGE_DAYS,
    readyMaxLagMs: config.READ_READY_MAX_LAG_MS,
  };
}

function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * The read API: dashboard queries of the demo shop, generic reads of any projected table,
 * read-your-writes through X-Consistency-Token, the dashboard page at `/`, and
 * /health, /ready, /metrics, /openapi.json. Only /api/* needs the bearer token.
 */
export function createReadApp(deps: ReadAppDeps): OpenAPIHono<ReadEnv> {
  const { clickhouse, database, freshness, log, limits } = deps;
  const registry = deps.registry ?? metricsRegistry();
  const app = new OpenAPIHono<ReadEnv>({ defaultHook: validationHook });

  const queryHist = metric(
    registry,
    "sidecar_read_clickhouse_query_seconds",
    () =>
      new Histogram({
        name: "sidecar_read_clickhouse_query_seconds",
        help: "ClickHouse query time of the read API, by outcome",
        labelNames: ["outcome"],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
  );
  const waits = metric(
    registry,
    "sidecar_read_consistency_waits_total",
    () =>
      new Counter({
        name: "sidecar_read_consistency_waits_total",
        help: "Reads that carried a consistency token, by outcome (served, behind)",
        labelNames: ["outcome"],
        registers: [registry],
      }),
  );
  const waitHist = metric(
    registry,
    "sidecar_read_consistency_wait_seconds",
    () =>
      new Histogram({
        name: "sidecar_read_consistency_wait_seconds",
        help: "Time reads with a consistency token waited for the projection",
        buckets: [0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
  );
  metric(
    registry,
    "sidecar_read_projection_lag_seconds",
    () =>
      new Gauge({
        name: "sidecar_read_projection_lag_seconds",
        help: "now − commit time of the newest change the projection includes (as the read API sees it)",
        registers: [registry],
        async collect() {
          const w = await freshness.watermark().catch(() => null);
          const block = freshnessBlock(w);
          if (block.lagMs !== null) this.set(block.lagMs / 1000);
        },
      }),
  );

  const run = createQueryRunner(
    clickhouse,
    {
      maxExecutionSeconds: limits.maxExecutionSeconds,
      maxResultRows: limits.maxRows + 1,
      readonly: deps.enforceReadonly ?? true,
    },
    (seconds, ok) => queryHist.observe({ outcome: ok ? "ok" : "error" }, seconds),
    log,
  );
  const catalog = createCatalogLoader(run, database, deps.catalogTtlMs ?? 2_000);

  app.onError(createErrorHandler({ log, translate: (err) => translateClickHouseError(err, limits) }));
  app.notFound(createNotFoundHandler());
  app.use("*", exactJson()); // -0 stays -0 in every JSON answer
  app.use("*", securityHeaders({ csp: PAGE_CSP }));
  app.use("*", requestId());
  app.use("*", httpMetrics({ registry, prefix: "sidecar_read_" }));
  app.use("*", cors({ origins: deps.corsOrigins ?? [], allowMethods: ["GET", "OPTIONS"] }));
  if (deps.token) app.use("/api/*", bearerAuth({ token: deps.token, realm: "cqrs-sidecar-read" }));
  else log.warn("READ_API_TOKEN is empty: the read API answers anyone (local demos only)");
  const domain = deps.domainTables ?? DEFAULT_DOMAIN_TABLES;
  const dashboardReads = dashboardTablesRead(domain);
  /** The tables a request reads (undefined: it may read any, e.g. the table list). */
  const tablesRead = (path: string): string[] | undefined => {
    const table = /^\/api\/tables\/([^/]+)/.exec(path)?.[1];
    if (table !== undefined) {
      try {
        return [decodeURIComponent(table)];
      } catch {
        return undefined; // a malformed name: the route answers 4xx; wait for everything meanwhile
      }
    }
    return dashboardReads[path];
  };
  app.use("/api/*", consistency(freshness, limits.waitMs, waits, waitHist, tablesRead));

  registerDashboardRoutes(app, {
    database,
    tables: domain,
    catalog,
    run,
    limits: { maxRangeDays: limits.maxRangeDays, maxRows: limits.maxRows },
  });
  registerTableRoutes(app, { database, catalog, run, maxRows: limits.maxRows, freshness });

  app.get("/", (c) => c.html(dashboardHtml()));
  app.get("/assets/dashboard.js", async (c) => {
    const js = await dashboardAsset();
    return c.body(js, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" });
  });
  app.get("/assets/dashboard.css", async (c) => {
    const css = await dashboardStylesheet();
    return c.body(css, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "no-cache" });
  });
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", async (c) => {
    try {
      await run("SELECT 1", {});
    } catch {
      throw new ApiError({
        status: 503,
        title: "Not Ready",
        detail: "ClickHouse does not answer",
        headers: { "Retry-After": "2" },
      });
    }
    const w = await freshness.watermark();
    const seen = w?.updatedAt ?? w?.commitTime ?? null;
    const block = freshnessBlock(w);
    if (!w || !seen) {
      throw new ApiError({
        status: 503,
        title: "Not Ready",
        detail: "the projection has no watermark yet",
        headers: { "Retry-After": "2" },
        extensions: { freshness: block },
      });
    }
    const age = Date.now() - seen.getTime();
    if (age > limits.readyMaxLagMs) {
      throw new ApiError({
        status: 503,
        title: "Not Ready",
        detail: `the projection last advanced ${Math.round(age / 1000)}s ago (limit ${Math.round(limits.readyMaxLagMs / 1000)}s)`,
        headers: { "Retry-After": "2" },
        extensions: { freshness: block },
      });
    }
    // Degraded tables do not make the API unready (every other table is served); they are listed.
    return c.json({
      status: "ready",
      clickhouse: "ok",
      freshness: withDegraded(block, await degradedAmong(freshness)),
    });
  });
  app.get("/metrics", async (c) => c.body(await registry.metrics(), 200, { "content-type": registry.contentType }));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.doc("/openapi.json", {
    openapi: "3.0.3",
    info: {
      title: "cqrs-sidecar read API",
      version: "1",
      description:
        "Reads from ClickHouse. Every /api answer has a freshness block {lsn, commitTime, lagMs}. Send the write API's " +
        "X-Consistency-Token header to read your own write: the read waits (bounded) until the projection includes it, " +
        "else 503 + Retry-After. Errors are RFC 7807 problem+json.",
    },
  });
  return app;
}

/**
 * Read-your-writes: with X-Consistency-Token, wait until the watermark reaches it (at most
 * `waitMs`), else 503 + Retry-After; never serve data older than the token. Sets the
 * freshness block every answer carries (the watermark before the query: the answer is at
 * least that fresh).
 */
function consistency(
  source: FreshnessSource,
  waitMs: number,
  waits: Counter<string>,
  waitHist: Histogram<string>,
  tablesRead: (path: string) => string[] | undefined,
): MiddlewareHandler<ReadEnv> {
  return async function consistencyMiddleware(c, next) {
    const token = c.req.header(CONSISTENCY_HEADER);
    // A read of some tables waits for (and reports) their topics' watermark, not the busiest topic's.
    const tables = tablesRead(c.req.path);
    const degraded = await degradedAmong(source, tables);
    if (token === undefined) {
      c.set("freshness", withDegraded(freshnessBlock(await watermarkOf(source, tables)), degraded));
      return next();
    }
    if (!isLsn(token.trim())) {
      throw new ApiError({
        status: 400,
        title: "Validation Failed",
        detail: "the consistency token is not one the write API returns",
        errors: [{ field: CONSISTENCY_HEADER, reason: "must be a Postgres LSN like 0/1A2B3C4" }],
      });
    }
    const outcome = await waitForLsn(source, parseLsn(token.trim()), waitMs, tables);
    waitHist.observe(outcome.waitedMs / 1000);
    waits.inc({ outcome: outcome.ok ? "served" : "behind" });
    if (!outcome.ok) {
      const retry = Math.max(1, Math.ceil(waitMs / 1000));
      throw new ApiError({
        status: 503,
        title: "Projection Behind",
        type: "urn:cqrs-sidecar:problem:projection-behind",
        detail: `the projection has not yet reached this write (waited ${outcome.waitedMs} ms); retry after ${retry}s rather than read stale data`,
        headers: { "Retry-After": String(retry) },
        extensions: { token: token.trim(), freshness: freshnessBlock(outcome.watermark) },
      });
    }
    c.set(
      "freshness",
      withDegraded({ ...freshnessBlock(outcome.watermark), token: token.trim(), waitedMs: outcome.waitedMs }, degraded),
    );
    return next();
  };
}

export interface StartReadApiDeps {
  /** Shared client (required with embedded chDB: the projector's). Default: opens CLICKHOUSE_READ_URL ?? CLICKHOUSE_URL. */
  clickhouse?: ClickHouse;
  /** Default: progressTableFreshness over the projection database's progress table. */
  freshness?: FreshnessSource;
  log?: Logger;
  registry?: Registry;
  domainTables?: DomainTables;
  /** Listen address. Default READ_API_HOST (127.0.0.1); anything but loopback needs READ_API_TOKEN. */
  hostname?: string;
  /** Port; default READ_API_PORT (0 picks a free one). */
  port?: number;
}

export interface RunningReadApi {
  /** The address it listens on, as the socket reports it (127.0.0.1 by default). */
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts the read API on READ_API_PORT. Closes only what it opened itself. */
export async function startReadApi(config: Config, deps: StartReadApiDeps = {}): Promise<RunningReadApi> {
  const hostname = deps.hostname ?? config.READ_API_HOST;
  assertSafeExposure(readApiExposure(config, hostname));
  const log = deps.log ?? createLogger(config.LOG_LEVEL, "cqrs-sidecar-read");
  const url = config.CLICKHOUSE_READ_URL ?? config.CLICKHOUSE_URL;
  const ownClient = !deps.clickhouse;
  const clickhouse = deps.clickhouse ?? (await openClickHouse(url));
  const freshness = deps.freshness ?? progressTableFreshness(clickhouse, config.CLICKHOUSE_DATABASE);
  const app = createReadApp({
    clickhouse,
    database: config.CLICKHOUSE_DATABASE,
    freshness,
    log,
    limits: readLimitsFromConfig(config),
    token: config.READ_API_TOKEN,
    corsOrigins: config.CORS_ORIGINS,
    // Only the read-only server user of CLICKHOUSE_READ_URL has readonly pinned by its profile (and may not
    // change it); any other client (embedded, or the projector's shared one) gets readonly = 2 per query.
    enforceReadonly: !(
      ownClient &&
      config.CLICKHOUSE_READ_URL &&
      parseClickHouseUrl(config.CLICKHOUSE_READ_URL).kind === "http"
    ),
    domainTables: deps.domainTables,
    registry: deps.registry,
  });
  const port = deps.port ?? config.READ_API_PORT;
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port, hostname }, () => resolve(s));
  });
  const address = server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  const host = typeof address === "object" && address ? address.address : hostname;
  log.info({ host: hostname, port: actual }, "read API listening");
  return {
    host,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownClient) await clickhouse.close();
    },
  };
}
