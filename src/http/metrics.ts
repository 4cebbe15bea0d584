import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { Counter, Histogram, type Registry } from "prom-client";

export interface HttpMetricsOptions {
  /** Registry to register on (the process-wide one from src/shared/metrics.ts). */
  registry: Registry;
  /** Metric name prefix, one per role, e.g. `sidecar_write_`. Default `sidecar_`. */
  prefix?: string;
  /** Latency histogram buckets in seconds. */
  buckets?: number[];
}

/** Label for requests no route matched, so unknown paths cannot blow up label cardinality. */
export const UNMATCHED_ROUTE = "(unmatched)";

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * Counts requests and observes their latency by method, route pattern (`/orders/:id/pay`,
 * never the raw path) and status. Two apps on one registry share the same series.
 */
export function httpMetrics({
  registry,
  prefix = "sidecar_",
  buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
}: HttpMetricsOptions): MiddlewareHandler {
  const labelNames = ["method", "route", "status"] as const;
  const requests = getOrCreate(
    registry,
    `${prefix}http_requests_total`,
    () =>
      new Counter({
        name: `${prefix}http_requests_total`,
        help: "HTTP requests answered, by method, route pattern and status",
        labelNames,
        registers: [registry],
      }),
  );
  const duration = getOrCreate(
    registry,
    `${prefix}http_request_duration_seconds`,
    () =>
      new Histogram({
        name: `${prefix}http_request_duration_seconds`,
        help: "HTTP request latency in seconds, by method, route pattern and status",
        labelNames,
        buckets,
        registers: [registry],
      }),
  );
  return async function httpMetricsMiddleware(c, next) {
    const start = process.hrtime.bigint();
    await next();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const path = routePath(c, -1);
    const route = !path || path === "*" || path === "/*" ? UNMATCHED_ROUTE : path;
    const labels = { method: c.req.method, route, status: String(c.res.status) };
    requests.inc(labels);
    duration.observe(labels, seconds);
  };
}
