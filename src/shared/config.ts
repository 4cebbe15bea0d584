import { z } from "zod";

/**
 * The one place that reads the environment. Every variable is documented here with
 * its default; the defaults match the native stack (stack/env.sh), so a plain
 * `make up` needs no settings. A bad or missing value stops the process with a
 * message naming each variable.
 */
const port = z.coerce.number().int().min(1).max(65535);
/** An interface to listen on: an IPv4/IPv6 address or a host name. Loopback by default (safe by default). */
const host = z
  .string()
  .regex(/^[A-Za-z0-9.:%_-]+$/, "must be an IP address or host name, e.g. 127.0.0.1 or 0.0.0.0")
  .default("127.0.0.1");
const csv = z.string().transform((s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean),
);

export const configSchema = z.object({
  /** Postgres the write API uses and Debezium captures. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .default("postgres://postgres:postgres@127.0.0.1:55432/shop"),
  /** The database URL as Kafka Connect sees it, when that differs (Docker: postgres:5432). */
  CONNECT_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .optional(),
  /** Kafka bootstrap servers, comma separated host:port. */
  KAFKA_BROKERS: csv
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, "each broker must be host:port")).min(1))
    .default(["127.0.0.1:9092"]),
  /** Kafka Connect REST endpoint. */
  KAFKA_CONNECT_URL: z.string().url().default("http://127.0.0.1:8083"),
  /** `http(s)://user:pass@host:8123/db` for a ClickHouse server; `chdb:PATH` or unset for embedded chDB. */
  CLICKHOUSE_URL: z
    .string()
    .regex(/^(https?:\/\/|chdb:)/, "must be http(s)://… for a server or chdb:PATH for embedded")
    .default("chdb:.stack/chdb"),
  /** ClickHouse database the projection writes into. */
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a plain identifier")
    .default("sidecar"),
  /** Optional cluster name: DDL gets ON CLUSTER and Replicated engines. */
  CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional(),
  /** Debezium topic prefix (topic.prefix); topics are <prefix>.<schema>.<table>. */
  TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default("sidecar"),
  /** Postgres schemas.tables Debezium captures for the demo connector. */
  CAPTURE_TABLES: csv.default(["shop.customers", "shop.products", "shop.orders", "shop.order_lines"]),
  /** Consumer group of the projector. */
  PROJECTOR_GROUP: z.string().min(1).default("cqrs-sidecar-projector"),
  /** Kafka Connect's offset.storage.topic: the projector follows Debezium's committed source position there. */
  CONNECT_OFFSETS_TOPIC: z.string().min(1).default("_connect_offsets"),
  /** Dead-letter topic for messages the projector cannot use. */
  DLQ_TOPIC: z.string().min(1).default("sidecar.dlq"),
  /** Where the sidecar's Connect converter (stack/converter) stores each schema once; messages carry its id. */
  SCHEMA_TOPIC: z.string().min(1).default("_sidecar_schemas"),
  /** Topics the projector consumes, comma separated; empty: every `<TOPIC_PREFIX>.<schema>.<table>` topic (re-listed every 10 s). */
  PROJECTOR_TOPICS: csv.default([]),
  /** kafkajs maxBytesPerPartition: upper bound of one batch (and of one ClickHouse insert) per partition. */
  PROJECTOR_MAX_BATCH_BYTES: z.coerce
    .number()
    .int()
    .min(65_536)
    .default(8 * 1024 * 1024),
  /** Partitions (tables) processed at the same time (kafkajs partitionsConsumedConcurrently). */
  PROJECTOR_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /**
   * The projector's flush interval (kafkajs maxWaitTimeInMs, ms): the broker holds a fetch this
   * long unless 1 MiB is ready, so a steady trickle of changes becomes one insert per table per
   * interval (a backlog is fetched at once).
   */
  PROJECTOR_FETCH_WAIT_MS: z.coerce.number().int().min(1).max(10_000).default(50),
  /** How often the consistency watermark is advanced (ms). */
  PROJECTOR_WATERMARK_INTERVAL_MS: z.coerce.number().int().min(10).default(75),
  /** How often per-table progress and the watermark are written to <db>._sidecar_progress (ms). */
  PROJECTOR_PROGRESS_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  /** Longest wait between retries while ClickHouse or Kafka is away (ms); retries go on until stopped. */
  PROJECTOR_MAX_BACKOFF_MS: z.coerce.number().int().min(100).default(10_000),
  /**
   * Tries a deterministic failure (the same ClickHouse error again, not a connection problem) gets
   * before the table's messages go to the dead-letter topic and the table is marked degraded.
   */
  PROJECTOR_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  WRITE_API_PORT: port.default(3000),
  /** Interface the write API listens on. Anything but loopback needs API_TOKEN (src/http/exposure.ts). */
  WRITE_API_HOST: host,
  /** Largest request body the write API reads, in bytes; larger ones get a 413. */
  WRITE_API_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(64 * 1024),
  /** Hours an Idempotency-Key keeps its first answer; after that the key may be used again and its row is pruned. */
  WRITE_API_IDEMPOTENCY_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 365)
    .default(24),
  /** Connections in the write API's Postgres pool. */
  WRITE_API_PG_POOL_MAX: z.coerce.number().int().min(1).max(500).default(20),
  READ_API_PORT: port.default(3001),
  /** Interface the read API and the page listen on. Anything but loopback needs READ_API_TOKEN. */
  READ_API_HOST: host,
  /** Port of the projector's /metrics, /health, /ready, /watermark. */
  PROJECTOR_METRICS_PORT: port.default(9464),
  /**
   * Interface of the projector's port. It serves only the operational endpoints that the APIs
   * also serve without a token, so no token is asked for; it stays on loopback unless told.
   */
  PROJECTOR_METRICS_HOST: host,
  /** Bearer token for the write API's commands. Empty: open, allowed only on a loopback WRITE_API_HOST. */
  API_TOKEN: z.string().default(""),
  /** Bearer token for the read API's /api/* (separate from the write token). Empty: allowed only on a loopback READ_API_HOST. */
  READ_API_TOKEN: z.string().default(""),
  /** Comma separated CORS origins; empty means CORS off. */
  CORS_ORIGINS: csv.default([]),
  /** ClickHouse the read API queries, when it should use other credentials than the projector (Docker: the read-only `reader` user). Unset: CLICKHOUSE_URL. */
  CLICKHOUSE_READ_URL: z
    .string()
    .regex(/^(https?:\/\/|chdb:)/, "must be http(s)://… for a server or chdb:PATH for embedded")
    .optional(),
  /** The read API as admin commands (verify) reach it, when the embedded ClickHouse belongs to the running sidecar. */
  READ_API_URL: z.string().url().default("http://127.0.0.1:3001"),
  /** Longest time a read carrying X-Consistency-Token waits for the projection to include it, in ms; then 503 + Retry-After. */
  READ_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** Most rows one read API answer may hold (also the largest accepted `limit`). */
  READ_MAX_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /** ClickHouse max_execution_time of every read query, in seconds. */
  READ_MAX_EXECUTION_SECONDS: z.coerce.number().min(0.1).max(600).default(10),
  /** Widest time range (from..to) a dashboard query accepts, in days (hour buckets: at most 31 days). */
  READ_MAX_RANGE_DAYS: z.coerce.number().int().min(1).max(36_600).default(366),
  /** /ready fails when the projection's watermark was last advanced longer ago than this, in ms. */
  READ_READY_MAX_LAG_MS: z.coerce.number().int().min(1).default(60_000),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses an environment (process.env by default). Empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "(env)"}: ${i.message}`));
  }
  return parsed.data;
}
