import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { type ClickHouse, openClickHouse } from "../../src/clickhouse/client.js";
import { type Projector, startProjector } from "../../src/projector/projector.js";
import { createReadApp, readLimitsFromConfig } from "../../src/read/app.js";
import { projectorFreshness } from "../../src/read/progress.js";
import { type Config, loadConfig } from "../../src/shared/config.js";
import { createLogger } from "../../src/shared/logger.js";
import { stackEnv } from "./stack.js";

/**
 * The whole pipeline for read API tests: the running demo connector's topics, a real projector
 * (own consumer group, own ClickHouse database in its own chDB directory) and the read API in
 * the same process sharing its ClickHouse client and in-memory watermark — as `project read` runs.
 */
export interface ReadPipeline {
  config: Config;
  ch: ClickHouse;
  projector: Projector;
  app: ReturnType<typeof createReadApp>;
  token: string;
  /** GET on the read API with the bearer token (and optional extra headers). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers of many shapes
  get: (path: string, headers?: Record<string, string>) => Promise<{ status: number; body: any; headers: Headers }>;
  close: () => Promise<void>;
}

export async function startReadPipeline(name: string): Promise<ReadPipeline> {
  const env = stackEnv();
  const id = `${name}_${randomUUID().slice(0, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), `${name}-chdb-`));
  const token = `read-${randomUUID()}`;
  const config = loadConfig({
    KAFKA_BROKERS: env.KAFKA_BROKERS,
    CLICKHOUSE_URL: `chdb:${dir}`,
    CLICKHOUSE_DATABASE: `r_${id}`,
    PROJECTOR_GROUP: `read-test-${id}`,
    READ_API_TOKEN: token,
    LOG_LEVEL: "warn",
  });
  const log = createLogger("warn");
  const ch = await openClickHouse(config.CLICKHOUSE_URL);
  const registry = new Registry();
  const projector = await startProjector(config, { clickhouse: ch, log, registry });
  const app = createReadApp({
    clickhouse: ch,
    database: config.CLICKHOUSE_DATABASE,
    freshness: projectorFreshness(projector),
    log,
    limits: readLimitsFromConfig(config),
    token,
    registry,
  });
  const get: ReadPipeline["get"] = async (path, headers = {}) => {
    const res = await app.request(path, { headers: { authorization: `Bearer ${token}`, ...headers } });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: res.status, body, headers: res.headers };
  };
  return {
    config,
    ch,
    projector,
    app,
    token,
    get,
    close: async () => {
      await projector.stop();
      await ch.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
