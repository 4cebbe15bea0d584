import { describe, expect, it } from "vitest";
import { describeGap, retentionGaps } from "../../src/projector/retention-gap.js";

const lows = (topic: string, low: string) => new Map([[topic, [{ partition: 0, low }]]]);

describe("events deleted by retention before the projector applied them", () => {
  it("a committed offset before the log start is a gap; at or after it, or a fresh log, is not", () => {
    const t = "sidecar.crm.orders";
    expect(retentionGaps([{ topic: t, partitions: [{ partition: 0, offset: "40" }] }], lows(t, "105"))).toEqual([
      { topic: t, partition: 0, committed: 40n, logStart: 105n },
    ]);
    expect(retentionGaps([{ topic: t, partitions: [{ partition: 0, offset: "105" }] }], lows(t, "105"))).toEqual([]);
    expect(retentionGaps([{ topic: t, partitions: [{ partition: 0, offset: "-1" }] }], lows(t, "0"))).toEqual([]);
    // Never committed, yet the log no longer starts at 0: its first events are gone too.
    expect(retentionGaps([{ topic: t, partitions: [{ partition: 0, offset: "-1" }] }], lows(t, "7"))).toHaveLength(1);
  });

  it("names the table, what was lost and the repair", () => {
    const d = describeGap({ topic: "sidecar.crm.orders", partition: 0, committed: 40n, logStart: 105n }, "sidecar");
    expect(d.target).toBe("crm__orders");
    expect(d.source).toBe("crm.orders");
    expect(d.reason).toBe(
      "events 40..104 of sidecar.crm.orders (partition 0) were deleted by Kafka's retention before they were projected: changes may be missing; repair --table crm.orders re-reads the table",
    );
  });
});
