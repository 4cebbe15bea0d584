import { randomUUID } from "node:crypto";
import type { Admin, Kafka } from "kafkajs";
import { ConnectClient } from "../connect/connect-client.js";
import type { Config } from "../shared/config.js";
import type { Logger } from "../shared/logger.js";
import type { BinlogClocks } from "./binlog-clock.js";
import { ConnectOffsets } from "./connect-offsets.js";
import { capturedTopics } from "./topics.js";
import { partitionKey, type WatermarkTracker } from "./watermark.js";

export interface WatermarkTickDeps {
  kafka: Kafka;
  /** The projector's admin client (replaced when topics disappear). */
  admin: () => Admin;
  config: Config;
  tracker: WatermarkTracker;
  clocks: BinlogClocks;
  /** The topics the consumer is subscribed to. */
  subscribed: () => string[];
  /** Every captured topic that exists now. */
  discoverTopics: () => Promise<string[]>;
  /** A captured topic exists that the consumer is not subscribed to. */
  onNewTopics: () => void;
  /** After each WAL pairing: publish what is complete. */
  evaluate: () => void;
  log: Logger;
}

/**
 * What drives the watermarks: Kafka Connect's committed source offsets (never the positions of
 * consumed events: connect-offsets.ts says why), each paired with high watermarks read right
 * after; watermark.ts for the WAL, binlog-clock.ts for MySQL/MariaDB connectors. A tick runs on
 * every new offset and on a timer, one at a time; a request that arrives during a tick runs right
 * after it (its offset may be newer than the running tick's).
 */
export class WatermarkTicks {
  readonly offsets: ConnectOffsets;
  private readonly connect: ConnectClient;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private busy = false;
  private again = false;
  private clockBusy = false;

  constructor(private readonly deps: WatermarkTickDeps) {
    const { config } = deps;
    this.offsets = new ConnectOffsets(
      deps.kafka,
      {
        topic: config.CONNECT_OFFSETS_TOPIC,
        server: config.TOPIC_PREFIX,
        groupId: `${config.PROJECTOR_GROUP}.offsets.${randomUUID()}`,
        onAdvance: () => this.tick(),
        connectUrl: config.KAFKA_CONNECT_URL,
        admin: deps.admin,
      },
      deps.log,
    );
    this.connect = new ConnectClient(config.KAFKA_CONNECT_URL);
  }

  async start(): Promise<void> {
    await this.offsets.start();
    this.timer ??= setInterval(() => this.tick(), this.deps.config.PROJECTOR_WATERMARK_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.offsets.stop();
  }

  tick(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.walTick()
      .catch((err) => this.deps.log.debug({ err: (err as Error).message }, "watermark tick failed"))
      .finally(() => {
        this.busy = false;
        if (this.again) {
          this.again = false;
          this.tick();
        }
      });
  }

  private async walTick(): Promise<void> {
    const { tracker, subscribed } = this.deps;
    const l = this.offsets.current();
    if (l && subscribed().length > 0 && !tracker.hasCandidateFor(l.lsn)) {
      // H covers every captured topic that exists now, subscribed or not: a table whose topic
      // appeared since the last subscription holds the watermark back until it is consumed.
      const current = await this.deps.discoverTopics();
      if (current.some((t) => !subscribed().includes(t))) this.deps.onNewTopics();
      tracker.addCandidate(l, await this.highOf(current));
    } else if (tracker.pendingCandidates() > 0) {
      // L is already paired (each pairing costs a handful of Kafka requests); a pending candidate
      // may still wait on partitions other group members own.
      await this.seedFromGroup(subscribed());
    }
    this.deps.evaluate();
    this.clockTick();
  }

  /** Off the WAL tick: a slow Kafka Connect REST call must not hold the WAL watermark back. */
  private clockTick(): void {
    if (this.clockBusy) return;
    this.clockBusy = true;
    const { clocks, config, discoverTopics } = this.deps;
    clocks
      .tick(this.offsets.binlogConnectors(), {
        topics: async (connector) => {
          const active = await this.connect.activeTopics(connector);
          const tables =
            active && capturedTopics(active, config.TOPIC_PREFIX, config.DLQ_TOPIC, config.PROJECTOR_TOPICS);
          return tables?.filter((t) => active?.includes(t));
        },
        high: async (list) => {
          const existing = new Set(await discoverTopics());
          return this.highOf(list.filter((t) => existing.has(t)));
        },
      })
      .catch((err) => this.deps.log.debug({ err: (err as Error).message }, "binlog clock tick failed"))
      .finally(() => {
        this.clockBusy = false;
      });
  }

  /**
   * H: the high watermarks of these topics. The group's commits happen only after the rows are
   * stored: any reading is a lower bound of what is applied, so it is fetched alongside.
   */
  private async highOf(list: string[]): Promise<Map<string, bigint>> {
    const admin = this.deps.admin();
    const high = new Map<string, bigint>();
    const [results] = await Promise.all([
      Promise.all(list.map((t) => admin.fetchTopicOffsets(t).then((o) => [t, o] as const))),
      this.seedFromGroup(list),
    ]);
    for (const [t, offsets] of results) for (const o of offsets) high.set(partitionKey(t, o.partition), BigInt(o.high));
    return high;
  }

  /** Partitions another projector process of the group owns count as applied up to the group's committed offset. */
  private async seedFromGroup(list: string[]): Promise<void> {
    const committed = await this.deps.admin().fetchOffsets({ groupId: this.deps.config.PROJECTOR_GROUP, topics: list });
    for (const t of committed)
      for (const p of t.partitions)
        if (p.offset !== "-1") this.deps.tracker.seedApplied(partitionKey(t.topic, p.partition), BigInt(p.offset));
  }
}
