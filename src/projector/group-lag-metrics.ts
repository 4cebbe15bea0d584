import type { Admin, Kafka } from "kafkajs";
import type { Registry } from "prom-client";
import type { Logger } from "../shared/logger.js";
import { gauge } from "./connector-metrics.js";
import { sharedRead } from "./scrape-cache.js";

/** One partition the projector's group has committed an offset for. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** Messages from the committed offset (or the log start, when none is committed) to the high watermark. */
  lag: number;
  /** The committed offset is older than the log start: retention removed messages never projected. */
  beforeLogStart: boolean;
}

/** Lag of one partition from its committed offset and its high/low watermarks (pure). */
export function partitionLag(committed: string, high: string, low: string): { lag: number; beforeLogStart: boolean } {
  const c = BigInt(committed);
  const h = BigInt(high);
  const l = BigInt(low);
  const from = c < 0n ? l : c;
  return { lag: Number(h > from ? h - from : 0n), beforeLogStart: c >= 0n && c < l };
}

/**
 * The projector group's lag as Kafka sees it, read when scraped: committed offsets against high
 * watermarks. Unlike sidecar_projector_consumer_lag (set as batches are applied) it keeps growing
 * while the projector is stuck. Kafka away: `sidecar_projector_group_lag_up` 0, never an error.
 */
export class GroupLagMetrics {
  private admin: Admin | undefined;
  private down = false;

  constructor(
    registry: Registry,
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly log: Logger,
    opts: { maxAgeMs?: number; deadlineMs?: number } = {},
  ) {
    const read = sharedRead(() => this.readLag(), {
      maxAgeMs: opts.maxAgeMs ?? 2_000,
      deadlineMs: opts.deadlineMs ?? 4_000,
    });
    const tryRead = () =>
      read().then(
        (lags) => {
          if (this.down) this.log.info("metrics: the projector group's offsets can be read again");
          this.down = false;
          return lags;
        },
        (err: Error) => {
          if (!this.down) this.log.warn({ err: err.message }, "metrics: cannot read the projector group's offsets");
          this.down = true;
          return undefined;
        },
      );
    const registers = [registry];
    const labelNames = ["topic", "partition"] as const;
    gauge(registry, {
      name: "sidecar_projector_group_lag_up",
      help: "1 when the projector group's committed offsets were read from Kafka at the last scrape, else 0",
      registers,
      async collect() {
        this.set((await tryRead()) ? 1 : 0);
      },
    });
    gauge(registry, {
      name: "sidecar_projector_group_lag",
      help: "Messages between the projector group's committed offset and the partition's high watermark, read from Kafka when scraped",
      labelNames,
      registers,
      async collect() {
        this.reset();
        for (const p of (await tryRead()) ?? []) this.set({ topic: p.topic, partition: String(p.partition) }, p.lag);
      },
    });
    gauge(registry, {
      name: "sidecar_projector_offset_before_log_start",
      help: "1 when the projector group's committed offset is older than the partition's log start (retention deleted messages it never projected)",
      labelNames,
      registers,
      async collect() {
        this.reset();
        for (const p of (await tryRead()) ?? [])
          this.set({ topic: p.topic, partition: String(p.partition) }, p.beforeLogStart ? 1 : 0);
      },
    });
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = undefined;
  }

  private async readLag(): Promise<PartitionLag[]> {
    try {
      if (!this.admin) {
        this.admin = this.kafka.admin();
        await this.admin.connect();
      }
      const admin = this.admin;
      const committed = await admin.fetchOffsets({ groupId: this.groupId });
      const perTopic = await Promise.all(
        committed.map(async ({ topic, partitions }) => {
          // A topic deleted since its offsets were committed has no watermarks: left out.
          const marks = await admin.fetchTopicOffsets(topic).catch(() => undefined);
          if (!marks) return [];
          const byPartition = new Map(marks.map((m) => [m.partition, m]));
          return partitions.flatMap((p) => {
            const m = byPartition.get(p.partition);
            return m ? [{ topic, partition: p.partition, ...partitionLag(p.offset, m.high, m.low) }] : [];
          });
        }),
      );
      return perTopic.flat();
    } catch (err) {
      await this.close();
      throw err;
    }
  }
}
