import { createServer } from "node:net";
import { join } from "node:path";
import { collectDefaultMetrics, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectorMetrics } from "../../src/projector/metrics.js";
import { startPipelineMetrics } from "../../src/projector/pipeline-metrics.js";
import { loadConfig } from "../../src/shared/config.js";
import { createLogger } from "../../src/shared/logger.js";
import { alertExprs, dashboardQueries, exposedNames, metricNamesIn } from "../helpers/metric-names.js";

/**
 * The Grafana dashboard (ops/grafana/cqrs-sidecar.json) and the alert rules name only series the
 * sidecar exports: the exporter is built here as `run project` builds it (same functions, a
 * registry of its own), with Kafka Connect, Kafka and Postgres away, and its /metrics text is
 * what the names are checked against. test/integration/pipeline-metrics.test.ts checks the same
 * against a sidecar process on the real stack.
 */
const OPS = join(import.meta.dirname, "../../ops");

describe("metricNamesIn", () => {
  it("names, not functions, labels, keywords, ranges or numbers", () => {
    expect(metricNamesIn('sum by (topic) (rate(sidecar_projector_events_total{op="c"}[5m]))')).toEqual([
      "sidecar_projector_events_total",
    ]);
    expect(
      metricNamesIn(
        'sidecar_a{s="reserved"} == 0 unless on (connector, slot) sidecar_b{s=~"lost|missing"} == 1 and sidecar_c offset 15m > 1e9',
      ),
    ).toEqual(["sidecar_a", "sidecar_b", "sidecar_c"]);
    expect(
      metricNamesIn(
        "histogram_quantile(0.95, sum by (le) (rate(sidecar_projector_batch_duration_seconds_bucket[5m])))",
      ),
    ).toEqual(["sidecar_projector_batch_duration_seconds_bucket"]);
    expect(metricNamesIn("count(x == 0) or vector(0)")).toEqual(["x"]);
  });
});

describe("exposedNames", () => {
  it("TYPE lines (samples or not), histogram series and sample names", () => {
    const names = exposedNames(
      '# HELP a_total x\n# TYPE a_total counter\n# TYPE h histogram\nh_bucket{le="1"} 0\n# TYPE g gauge\ng{x="1"} 2\nplain 1\n',
    );
    expect([...names].sort()).toEqual(["a_total", "g", "h", "h_bucket", "h_count", "h_sum", "plain"]);
  });
});

describe("dashboard and alerts name only exported series", () => {
  let exported: Set<string>;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    const closed = await closedPort();
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    projectorMetrics(registry);
    const config = loadConfig({
      KAFKA_CONNECT_URL: `http://127.0.0.1:${closed}`,
      KAFKA_BROKERS: `127.0.0.1:${closed}`,
      DATABASE_URL: `postgres://u:p@127.0.0.1:${closed}/x`,
    });
    stop = startPipelineMetrics(config, createLogger("silent"), registry).stop;
    const text = await registry.metrics();
    // Nothing answers: each part says so with a 0, the scrape itself succeeds.
    expect(text).toMatch(/^sidecar_connect_up 0$/m);
    expect(text).toMatch(/^sidecar_projector_group_lag_up 0$/m);
    exported = exposedNames(text);
  }, 30_000);
  afterAll(() => stop?.());

  it("the dashboard has panels, each with a query naming at least one metric", () => {
    const panels = dashboardQueries(join(OPS, "grafana/cqrs-sidecar.json"));
    expect(panels.length).toBeGreaterThanOrEqual(15);
    for (const p of panels) {
      expect(p.exprs.length, p.title).toBeGreaterThan(0);
      for (const e of p.exprs) expect(metricNamesIn(e), `${p.title}: ${e}`).not.toEqual([]);
    }
  });

  it("every metric a dashboard panel queries is exported", () => {
    const missing = dashboardQueries(join(OPS, "grafana/cqrs-sidecar.json")).flatMap((p) =>
      p.exprs
        .flatMap(metricNamesIn)
        .filter((n) => !exported.has(n))
        .map((n) => `${p.title}: ${n}`),
    );
    expect(missing).toEqual([]);
  });

  it("every metric an alert reads is exported (up: Prometheus's own, per scrape target)", () => {
    const alerts = alertExprs(join(OPS, "prometheus/alerts.yml"));
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    const missing = alerts.flatMap((a) =>
      metricNamesIn(a.expr)
        .filter((n) => n !== "up" && !exported.has(n))
        .map((n) => `${a.alert}: ${n}`),
    );
    expect(missing).toEqual([]);
  });

  it("the dashboard shows every series an alert reads", () => {
    const shown = new Set(
      dashboardQueries(join(OPS, "grafana/cqrs-sidecar.json")).flatMap((p) => p.exprs.flatMap(metricNamesIn)),
    );
    const alerted = alertExprs(join(OPS, "prometheus/alerts.yml")).flatMap((a) => metricNamesIn(a.expr));
    expect([...new Set(alerted)].filter((n) => n !== "up" && !shown.has(n))).toEqual([]);
  });
});

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
