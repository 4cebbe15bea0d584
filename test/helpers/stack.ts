import { execFileSync } from "node:child_process";
import { inject } from "vitest";
import { type Config, loadConfig } from "../../src/shared/config.js";

/**
 * The one seam that gets the real stack for tests.
 *
 * - TEST_STACK=native (default): the project's native stack (stack/stack.sh). `make test`
 *   starts it first; if it is not up, it is started here.
 * - TEST_STACK=containers: testcontainers starts Postgres, Kafka and Debezium Connect
 *   in Docker (needs a Docker engine). ClickHouse stays embedded (chDB) either way.
 *
 * Tests read the endpoints with `stackEnv()`, never from process.env directly.
 */
export interface StackEnv {
  DATABASE_URL: string;
  KAFKA_BROKERS: string;
  KAFKA_CONNECT_URL: string;
  /** The database URL as Kafka Connect reaches it (differs inside Docker). */
  CONNECT_DATABASE_URL: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackEnv;
  }
}

export async function startStack(): Promise<{ env: StackEnv; stop: () => Promise<void> }> {
  if ((process.env.TEST_STACK ?? "native") === "containers") {
    const { startContainers } = await import("./containers.js");
    return startContainers();
  }
  const env: StackEnv = {
    DATABASE_URL: process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:55432/shop",
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? "127.0.0.1:9092",
    KAFKA_CONNECT_URL: process.env.KAFKA_CONNECT_URL ?? "http://127.0.0.1:8083",
    CONNECT_DATABASE_URL: process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:55432/shop",
  };
  const up = await fetch(`${env.KAFKA_CONNECT_URL}/connectors`).then(
    (r) => r.ok,
    () => false,
  );
  if (!up) execFileSync("bash", ["stack/stack.sh", "up"], { stdio: "inherit" });
  return { env, stop: async () => {} };
}

/** The stack's endpoints, as provided by the global setup. */
export function stackEnv(): StackEnv {
  return inject("stack");
}

/**
 * The config of one test fixture on the shared stack: its own chDB directory, topic prefix,
 * consumer group and dead-letter topic (`<prefix>_<id>`), quick retries, quiet logs.
 */
export function fixtureConfig(opts: {
  prefix: string;
  group: string;
  id: string;
  chdbDir: string;
  env?: Record<string, string>;
}): Config {
  const stack = stackEnv();
  return loadConfig({
    ...process.env,
    DATABASE_URL: stack.DATABASE_URL,
    CONNECT_DATABASE_URL: stack.CONNECT_DATABASE_URL,
    KAFKA_BROKERS: stack.KAFKA_BROKERS,
    KAFKA_CONNECT_URL: stack.KAFKA_CONNECT_URL,
    CLICKHOUSE_URL: `chdb:${opts.chdbDir}`,
    CLICKHOUSE_DATABASE: "sidecar",
    TOPIC_PREFIX: `${opts.prefix}_${opts.id}`,
    PROJECTOR_GROUP: `${opts.group}-${opts.id}`,
    DLQ_TOPIC: `${opts.prefix}_${opts.id}.dlq`,
    PROJECTOR_MAX_BACKOFF_MS: "1000",
    LOG_LEVEL: "warn",
    ...opts.env,
  });
}
