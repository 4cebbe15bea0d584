import { targetTableName } from "../cdc/table.js";

/**
 * Events Kafka's retention deleted before the projector applied them: the group's committed offset
 * of a partition lies before the partition's log start (or the group never committed one and the
 * log no longer starts at 0). Consuming on would start at the log start and skip them silently,
 * so each such table is marked degraded instead, naming what was lost and the repair.
 */
export interface RetentionGap {
  topic: string;
  partition: number;
  /** The first offset the projector had not applied (-1: none committed). */
  committed: bigint;
  /** The partition's log start now. */
  logStart: bigint;
}

export function retentionGaps(
  committed: { topic: string; partitions: { partition: number; offset: string }[] }[],
  logStarts: Map<string, { partition: number; low: string }[]>,
): RetentionGap[] {
  const gaps: RetentionGap[] = [];
  for (const t of committed)
    for (const p of t.partitions) {
      const low = logStarts.get(t.topic)?.find((l) => l.partition === p.partition)?.low;
      if (low === undefined) continue;
      const c = BigInt(p.offset);
      const start = BigInt(low);
      if (c < start && (c >= 0n || start > 0n))
        gaps.push({ topic: t.topic, partition: p.partition, committed: c, logStart: start });
    }
  return gaps;
}

/** The projected table, source table and degraded reason of a gap in `<prefix>.<schema>.<table>`. */
export function describeGap(gap: RetentionGap, prefix: string): { target: string; source: string; reason: string } {
  const [schema = "", table = ""] = gap.topic.slice(prefix.length + 1).split(".");
  const first = gap.committed < 0n ? 0n : gap.committed;
  return {
    target: targetTableName(schema, table),
    source: `${schema}.${table}`,
    reason: `events ${first}..${gap.logStart - 1n} of ${gap.topic} (partition ${gap.partition}) were deleted by Kafka's retention before they were projected: changes may be missing; repair --table ${schema}.${table} re-reads the table`,
  };
}
