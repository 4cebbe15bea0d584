import type { Admin } from "kafkajs";
import type { Logger } from "../shared/logger.js";
import { describeGap, retentionGaps } from "./retention-gap.js";
import type { TableHealth } from "./table-health.js";
import { partitionKey, type WatermarkTracker } from "./watermark.js";

/**
 * Where the projector's group starts on each partition of `topics`, before it subscribes: a table
 * whose unapplied events Kafka's retention deleted is marked degraded (retention-gap.ts), and the
 * watermark tracker is seeded with each partition's start. What retention deleted counts as
 * applied: the consumer starts at the log start, and a partition with nothing left must not hold
 * the watermark back.
 */
export async function seedStartPositions(
  admin: Admin,
  topics: string[],
  deps: { group: string; topicPrefix: string; tracker: WatermarkTracker; health: TableHealth; log: Logger },
): Promise<void> {
  const committed = await admin.fetchOffsets({ groupId: deps.group, topics });
  const lows = new Map(
    await Promise.all(committed.map(async (t) => [t.topic, await admin.fetchTopicOffsets(t.topic)] as const)),
  );
  for (const gap of retentionGaps(committed, lows)) {
    const { target, source, reason } = describeGap(gap, deps.topicPrefix);
    deps.log.error({ topic: gap.topic, partition: gap.partition, table: target }, reason);
    deps.health.mark(target, source, reason);
  }
  await deps.health.flush();
  for (const t of committed)
    for (const p of t.partitions) {
      const logStart = BigInt(lows.get(t.topic)?.find((l) => l.partition === p.partition)?.low ?? "0");
      const committedAt = BigInt(p.offset);
      deps.tracker.seedApplied(partitionKey(t.topic, p.partition), committedAt > logStart ? committedAt : logStart);
    }
}
