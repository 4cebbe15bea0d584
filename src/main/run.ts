import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { openClickHouse, parseClickHouseUrl } from "../clickhouse/client.js";
import { assertSafeExposure, type Exposure, readApiExposure, writeApiExposure } from "../http/exposure.js";
import { securityHeaders } from "../http/security-headers.js";
import { setProjectorHeapPolicy } from "../projector/heap.js";
import { projectorHttpApp } from "../projector/http.js";
import { startPipelineMetrics } from "../projector/pipeline-metrics.js";
import { type Projector, startProjector } from "../projector/projector.js";
import { watchLostSlots } from "../projector/slot-watch.js";
import { startReadApi } from "../read/app.js";
import { projectorFreshness } from "../read/progress.js";
import type { Config } from "../shared/config.js";
import type { Logger } from "../shared/logger.js";
import { startWriteApi } from "../write/server.js";

export const ROLES = ["write", "project", "read"] as const;
export type Role = (typeof ROLES)[number];

export function parseRoles(args: string[]): Role[] {
  const roles = args.length === 0 ? [...ROLES] : args;
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length) throw new Error(`unknown role(s) ${unknown.join(", ")}: choose from ${ROLES.join(", ")}`);
  return [...new Set(roles)] as Role[];
}

/** The listeners the given roles open that a token guards (the projector's port serves only open ops endpoints). */
export function roleExposures(config: Config, roles: Role[]): Exposure[] {
  const exposures: Exposure[] = [];
  if (roles.includes("write")) exposures.push(writeApiExposure(config, config.WRITE_API_HOST));
  if (roles.includes("read")) exposures.push(readApiExposure(config, config.READ_API_HOST));
  return exposures;
}

/** The projector's /metrics, /health, /ready, /watermark, with the same security headers as the APIs. */
function projectorOpsApp(projector: Projector): Hono {
  const app = new Hono();
  app.use("*", securityHeaders());
  app.route("/", projectorHttpApp(projector));
  return app;
}

/**
 * Runs the given roles in this process and returns a function that stops them in
 * reverse order. With embedded ClickHouse the read role must share the projector's
 * process: an embedded data directory belongs to one process.
 */
export async function runRoles(config: Config, roles: Role[], log: Logger): Promise<() => Promise<void>> {
  // Before anything starts: a role that would be open to the network stops the process, naming the variables.
  assertSafeExposure(...roleExposures(config, roles));
  const embedded = parseClickHouseUrl(config.CLICKHOUSE_URL).kind === "chdb";
  if (embedded && roles.includes("read") && !roles.includes("project")) {
    throw new Error(
      "with embedded ClickHouse (CLICKHOUSE_URL unset or chdb:PATH) the read role must run with the project role in one process: run `cqrs-sidecar run project read`, or set CLICKHOUSE_URL to a ClickHouse server",
    );
  }
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => log.error({ err }, "stop failed"));
  };
  try {
    const clickhouse =
      roles.includes("project") || roles.includes("read") ? await openClickHouse(config.CLICKHOUSE_URL) : undefined;
    if (clickhouse) stops.push(() => clickhouse.close());
    let projector: Projector | undefined;
    if (roles.includes("project")) {
      setProjectorHeapPolicy();
      projector = await startProjector(config, { clickhouse, log });
      stops.push(() => projector!.stop());
      const pipeline = startPipelineMetrics(config, log);
      stops.push(pipeline.stop);
      const watch = watchLostSlots(pipeline.slots, projector.markDegraded, log);
      stops.push(async () => watch.stop());
      const p = projector;
      const server = serve({
        fetch: projectorOpsApp(p).fetch,
        port: config.PROJECTOR_METRICS_PORT,
        hostname: config.PROJECTOR_METRICS_HOST,
      });
      stops.push(() => new Promise<void>((r) => server.close(() => r())));
      log.info(
        { host: config.PROJECTOR_METRICS_HOST, port: config.PROJECTOR_METRICS_PORT },
        "projector metrics listening",
      );
    }
    if (roles.includes("read")) {
      const read = await startReadApi(config, {
        // Same process as the projector: share its client and its in-memory watermark.
        clickhouse: projector ? clickhouse : undefined,
        freshness: projector ? projectorFreshness(projector) : undefined,
        log,
      });
      stops.push(() => read.close());
    }
    if (roles.includes("write")) {
      const write = await startWriteApi(config, { log });
      stops.push(() => write.close());
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return stopAll;
}
