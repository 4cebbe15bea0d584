import { execFileSync } from "node:child_process";
import { inject } from "vitest";

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
