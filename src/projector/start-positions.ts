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
 * the watermark back. A committed offset beyond a partition's end means the topic was deleted and
 * created again (detach, then attach of the same table): those partitions are returned, to be
 * read from their start, since the group's old offset would skip the new topic's first events.
 */
export async function seedStartPositions(
  admin: Admin,
  topics: string[],
  deps: { group: string; topicPrefix: string; tracker: WatermarkTracker; health: TableHealth; log: Logger },
): Promise<{ topic: string; partition: number; offset: string }[]> {
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
  const recreated: { topic: string; partition: number; offset: string }[] = [];
  for (const t of committed)
    for (const p of t.partitions) {
      const bounds = lows.get(t.topic)?.find((l) => l.partition === p.partition);
      const logStart = BigInt(bounds?.low ?? "0");
      let committedAt = BigInt(p.offset);
      if (bounds && committedAt > BigInt(bounds.high)) {
        deps.log.warn(
          { topic: t.topic, partition: p.partition, committed: p.offset, end: bounds.high },
          "topic was recreated: reading it from its start",
        );
        recreated.push({ topic: t.topic, partition: p.partition, offset: bounds.low });
        committedAt = logStart;
      }
      deps.tracker.seedApplied(partitionKey(t.topic, p.partition), committedAt > logStart ? committedAt : logStart);
    }
  return recreated;
}
