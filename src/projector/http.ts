import { Hono } from "hono";
import type { Registry } from "prom-client";
import { metricsRegistry } from "../shared/metrics.js";
import type { Projector } from "./projector.js";

/**
 * /metrics (Prometheus), /health (process and consumer alive), /ready (in the group, schema in
 * place) and /watermark for the projector; mount with `app.route("/", projectorHttpApp(p))`.
 */
export function projectorHttpApp(projector: Projector, registry: Registry = metricsRegistry()): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) => c.body(await registry.metrics(), 200, { "content-type": registry.contentType }));
  app.get("/health", (c) => (projector.healthy() ? c.json({ status: "ok" }) : c.json({ status: "failing" }, 503)));
  // A degraded table does not make the projector unready (every other table is projected): it is listed.
  app.get("/ready", (c) => {
    const degraded = projector.degraded().map((d) => ({ table: d.target, reason: d.reason, since: d.since }));
    return projector.ready() ? c.json({ ready: true, degraded }) : c.json({ ready: false, degraded }, 503);
  });
  app.get("/watermark", (c) => {
    const w = projector.watermark();
    if (!w) return c.json({ lsn: null, commit_ts: null }, 200);
    return c.json({ lsn: w.lsnText, commit_ts: w.commitTs.toISOString(), published_at: w.publishedAt.toISOString() });
  });
  return app;
}
