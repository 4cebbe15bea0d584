import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { metricsRegistry } from "../shared/metrics.js";

/** The projector's Prometheus metrics (prefix sidecar_projector_), registered once per registry. */
export interface ProjectorMetrics {
  events: Counter<"topic" | "op">;
  rowsInserted: Counter<"table">;
  batchSize: Histogram;
  batchSeconds: Histogram;
  consumerLag: Gauge<"topic" | "partition">;
  endToEndLag: Gauge;
  sourceOffsetLag: Gauge;
  watermarkLag: Gauge;
  dlq: Counter<"reason">;
  watermarkLsn: Gauge;
  decodeHeap: Gauge;
  retries: Counter<"stage">;
  degradedTables: Gauge<"table">;
}

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** Source commit times (µs since the epoch) the lag gauges are computed from when scraped. */
export interface LagSources {
  /** The newest applied event. */
  lastCommitTsUs?: () => bigint | undefined;
  /** Kafka Connect's committed source offset (what a token waits for first). */
  sourceOffsetTsUs?: () => bigint | undefined;
  /** The published consistency watermark. */
  watermarkTsUs?: () => bigint | undefined;
}

export function projectorMetrics(registry: Registry = metricsRegistry(), lags: LagSources = {}): ProjectorMetrics {
  const r = [registry];
  const lagGauge = (name: string, help: string, ts: (() => bigint | undefined) | undefined) =>
    getOrCreate(
      registry,
      name,
      () =>
        new Gauge({
          name,
          help,
          registers: r,
          collect() {
            const us = ts?.();
            if (us !== undefined && us > 0n) this.set(Date.now() / 1000 - Number(us) / 1e6);
          },
        }),
    );
  return {
    events: getOrCreate(
      registry,
      "sidecar_projector_events_total",
      () =>
        new Counter({
          name: "sidecar_projector_events_total",
          help: "Change events consumed (rate() gives events/s)",
          labelNames: ["topic", "op"],
          registers: r,
        }),
    ),
    rowsInserted: getOrCreate(
      registry,
      "sidecar_projector_rows_inserted_total",
      () =>
        new Counter({
          name: "sidecar_projector_rows_inserted_total",
          help: "Rows inserted into ClickHouse",
          labelNames: ["table"],
          registers: r,
        }),
    ),
    batchSize: getOrCreate(
      registry,
      "sidecar_projector_batch_size",
      () =>
        new Histogram({
          name: "sidecar_projector_batch_size",
          help: "Messages per consumed batch",
          buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000, 50000],
          registers: r,
        }),
    ),
    batchSeconds: getOrCreate(
      registry,
      "sidecar_projector_batch_duration_seconds",
      () =>
        new Histogram({
          name: "sidecar_projector_batch_duration_seconds",
          help: "Time to decode, insert and commit one batch",
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: r,
        }),
    ),
    consumerLag: getOrCreate(
      registry,
      "sidecar_projector_consumer_lag",
      () =>
        new Gauge({
          name: "sidecar_projector_consumer_lag",
          help: "Messages behind the partition's high watermark",
          labelNames: ["topic", "partition"],
          registers: r,
        }),
    ),
    endToEndLag: lagGauge(
      "sidecar_projector_end_to_end_lag_seconds",
      "Now minus the source commit time of the newest applied event (heartbeats keep it fresh)",
      lags.lastCommitTsUs,
    ),
    sourceOffsetLag: lagGauge(
      "sidecar_projector_source_offset_lag_seconds",
      "Now minus the source commit time of Kafka Connect's committed source offset: how far a consistency token waits on Debezium and Connect",
      lags.sourceOffsetTsUs,
    ),
    watermarkLag: lagGauge(
      "sidecar_projector_watermark_lag_seconds",
      "Now minus the source commit time of the published consistency watermark: how old the newest change a token read can rely on is",
      lags.watermarkTsUs,
    ),
    dlq: getOrCreate(
      registry,
      "sidecar_projector_dlq_total",
      () =>
        new Counter({
          name: "sidecar_projector_dlq_total",
          help: "Messages sent to the dead-letter topic",
          labelNames: ["reason"],
          registers: r,
        }),
    ),
    watermarkLsn: getOrCreate(
      registry,
      "sidecar_projector_watermark_lsn",
      () =>
        new Gauge({
          name: "sidecar_projector_watermark_lsn",
          help: "Published consistency watermark (source LSN)",
          registers: r,
        }),
    ),
    decodeHeap: getOrCreate(
      registry,
      "sidecar_projector_decode_worker_heap_bytes",
      () =>
        new Gauge({
          name: "sidecar_projector_decode_worker_heap_bytes",
          help: "JavaScript heap used by the decode worker thread (process heap metrics cover the main thread only)",
          registers: r,
        }),
    ),
    retries: getOrCreate(
      registry,
      "sidecar_projector_retries_total",
      () =>
        new Counter({
          name: "sidecar_projector_retries_total",
          help: "Retried operations while ClickHouse or Kafka is away",
          labelNames: ["stage"],
          registers: r,
        }),
    ),
    degradedTables: getOrCreate(
      registry,
      "sidecar_projector_degraded_tables",
      () =>
        new Gauge({
          name: "sidecar_projector_degraded_tables",
          help: "1 for a projected table marked degraded (an event set aside; repair it), 0 once repaired",
          labelNames: ["table"],
          registers: r,
        }),
    ),
  };
}
