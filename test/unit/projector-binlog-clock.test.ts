import { describe, expect, it } from "vitest";
import { beatOf } from "../../src/cdc/internal.js";
import { BinlogClocks, datedWatermark } from "../../src/projector/binlog-clock.js";
import { parseOffsetRecord } from "../../src/projector/connect-offsets.js";
import { partitionKey, WatermarkTracker } from "../../src/projector/watermark.js";
import { lowestWatermark } from "../../src/shared/lsn.js";

const T = "p.crm.orders";
const BEATS = "p.sidecar.beat";
const file = (n: number, pos: number) => (BigInt(n) << 32n) + BigInt(pos);

/** A tracker whose partitions are applied as far as `applied` says, and the clocks over it. */
function setup() {
  const wal = new WatermarkTracker();
  const clocks = new BinlogClocks(wal);
  clocks.setTopics("attach_crm", [T, BEATS]);
  return { wal, clocks };
}

describe("binlog clocks: a MySQL/MariaDB connector's tables dated by its beats", () => {
  it("dates an offset by the newest beat strictly below it", () => {
    const { clocks } = setup();
    clocks.recordBeat({ connector: "attach_crm", version: file(3, 500), timeUs: 1_000n });
    clocks.recordBeat({ connector: "attach_crm", version: file(3, 900), timeUs: 2_000n });
    clocks.recordBeat({ connector: "attach_crm", version: file(4, 100), timeUs: 3_000n });
    expect(clocks.timeBelow("attach_crm", file(3, 500))).toBeUndefined(); // the beat at L itself may not be in Kafka
    expect(clocks.timeBelow("attach_crm", file(3, 901))).toBe(2_000n);
    expect(clocks.timeBelow("attach_crm", file(5, 0))).toBe(3_000n); // across a rotation
    expect(clocks.timeBelow("attach_other", file(5, 0))).toBeUndefined();
  });

  it("ignores a replayed (older) beat", () => {
    const { clocks } = setup();
    clocks.recordBeat({ connector: "attach_crm", version: file(3, 900), timeUs: 2_000n });
    clocks.recordBeat({ connector: "attach_crm", version: file(3, 500), timeUs: 1_000n });
    expect(clocks.timeBelow("attach_crm", file(3, 600))).toBeUndefined();
    expect(clocks.timeBelow("attach_crm", file(3, 901))).toBe(2_000n);
  });

  it("publishes a topic's time once its partitions are applied up to the H paired with it", async () => {
    const { wal, clocks } = setup();
    clocks.recordBeat({ connector: "attach_crm", version: file(3, 900), timeUs: 2_000n });
    const high = new Map([
      [partitionKey(T, 0), 40n],
      [partitionKey(BEATS, 0), 7n],
    ]);
    const io = { topics: async () => [T, BEATS], high: async () => high };
    await clocks.tick(new Map([["attach_crm", file(3, 950)]]), io, 1);
    expect(clocks.clockOf(T)).toBeNull(); // dated, not yet applied
    wal.recordApplied(partitionKey(T, 0), 40n);
    clocks.evaluate(2);
    expect(clocks.clockOf(T)).toEqual({ lsn: 2_000n, commitTsUs: 2_000n, publishedAt: 2 });
    expect(clocks.clockOf(BEATS)).toBeNull(); // its own partition is still behind
    expect(clocks.clockOf("p.public.orders")).toBeUndefined(); // not a binlog topic: the WAL dates it
    expect(clocks.all()).toEqual([null]);
    // A read of the table: no WAL position (no Postgres source here), the clock's time.
    expect(clocks.freshnessOf([T])).toEqual({ lsn: 0n, commitTsUs: 2_000n, publishedAt: 2, ownClock: true });
    expect(clocks.freshnessOf([T, BEATS])?.commitTsUs).toBe(0n); // one part not dated yet
  });

  it("forgets a connector whose offsets are gone (detached)", async () => {
    const { clocks } = setup();
    await clocks.tick(new Map(), { topics: async () => [], high: async () => new Map() });
    expect(clocks.clockOf(T)).toBeUndefined();
  });

  it("a connector deleted with its offsets left dates nothing; one failing connector does not stop the others", async () => {
    const { clocks } = setup();
    clocks.recordBeat({ connector: "attach_ok", version: file(1, 10), timeUs: 5_000n });
    const asked: string[] = [];
    const io = {
      topics: async (c: string) => {
        asked.push(c);
        if (c === "attach_broken") throw new Error("Connect is slow");
        return c === "attach_ok" ? ["p.ok.t"] : undefined;
      },
      high: async () => new Map([[partitionKey("p.ok.t", 0), 0n]]),
    };
    const offsets = new Map([
      ["attach_deleted", file(1, 50)],
      ["attach_broken", file(1, 50)],
      ["attach_ok", file(1, 50)],
    ]);
    await expect(clocks.tick(offsets, io, 1)).rejects.toThrow("Connect is slow");
    expect(clocks.clockOf("p.ok.t")).toEqual({ lsn: 5_000n, commitTsUs: 5_000n, publishedAt: 1 });
    expect(clocks.all()).toEqual([{ lsn: 5_000n, commitTsUs: 5_000n, publishedAt: 1 }]);
    // The deleted one is not asked again before the refresh interval; the failed one is.
    asked.length = 0;
    await expect(clocks.tick(offsets, io, 2)).rejects.toThrow();
    expect(asked).toEqual(["attach_broken"]);
    // New topics subscribed: every connector is asked again at the next tick.
    clocks.relearnTopics();
    asked.length = 0;
    await expect(clocks.tick(offsets, io, 3)).rejects.toThrow();
    expect(asked).toEqual(["attach_deleted", "attach_broken", "attach_ok"]);
  });
});

describe("dated watermarks: the WAL position, the oldest time", () => {
  const wal = { lsn: 900n, commitTsUs: 5_000n, publishedAt: 10 };
  const clock = { lsn: 3_000n, commitTsUs: 3_000n, publishedAt: 12 };

  it("a read of Postgres tables only is the WAL watermark", () => {
    expect(datedWatermark(wal, [], true)).toBe(wal);
  });

  it("a read of binlog tables keeps the WAL position and takes their clock's time", () => {
    expect(datedWatermark(wal, [clock], false)).toEqual({
      lsn: 900n,
      commitTsUs: 3_000n,
      publishedAt: 12,
      ownClock: true,
    });
    expect(datedWatermark(undefined, [clock], false)).toEqual({
      lsn: 0n,
      commitTsUs: 3_000n,
      publishedAt: 12,
      ownClock: true,
    });
  });

  it("a mixed read is as old as its oldest part; an undated clock makes the time unknown", () => {
    expect(datedWatermark({ ...wal, commitTsUs: 2_000n }, [clock], true)?.commitTsUs).toBe(2_000n);
    expect(datedWatermark(wal, [clock, null], true)?.commitTsUs).toBe(0n);
    expect(datedWatermark(undefined, [clock], true)).toBeUndefined(); // the Postgres tables have none yet
  });

  it("the progress-table merge keeps a binlog table's own time even when the WAL watermark is ahead", () => {
    const global = { lsn: 1_000n, commitTsUs: 9_000n, publishedAt: 20 };
    const rows = new Map([
      ["pg", { lsn: 800n, commitTsUs: 7_000n, publishedAt: 15 }],
      ["my", { lsn: 950n, commitTsUs: 4_000n, publishedAt: 18, ownClock: true }],
    ]);
    const own = (k: string) => rows.get(k);
    expect(lowestWatermark(["pg"], own, global)).toEqual(global); // behind the global: the global one
    expect(lowestWatermark(["my"], own, global)).toEqual({
      lsn: 1_000n,
      commitTsUs: 4_000n,
      publishedAt: 18,
      ownClock: true,
    });
    expect(lowestWatermark(["pg", "my"], own, global)).toEqual({
      lsn: 1_000n,
      commitTsUs: 4_000n,
      publishedAt: 18,
      ownClock: true,
    });
  });
});

describe("the pieces the clocks read", () => {
  it("a binlog connector's offset is its binlog version", () => {
    const key = Buffer.from(JSON.stringify(["attach_crm", { server: "p" }]));
    const value = Buffer.from(
      JSON.stringify({ file: "mariadb-bin.000008", pos: 1390, gtids: "0-1-1345", server_id: 1 }),
    );
    expect(parseOffsetRecord(key, value)).toEqual({
      connector: "attach_crm",
      server: "p",
      position: { binlog: file(8, 1390) },
    });
    expect(parseOffsetRecord(key, Buffer.from('{"file":"no-number","pos":1}'))).toBeUndefined();
  });

  it("a beat is a row of sidecar.beat with the connector's name and a µs time", () => {
    const ev = (schema: string, table: string, after: Record<string, unknown> | null) => ({
      schema,
      table,
      lsn: 42n,
      after,
    });
    expect(beatOf(ev("sidecar", "beat", { connector: "attach_crm", beat_at: 1795975292399717 }))).toEqual({
      connector: "attach_crm",
      version: 42n,
      timeUs: 1795975292399717n,
    });
    expect(beatOf(ev("sidecar", "heartbeat", { slot_name: "x", beat_at: 1 }))).toBeUndefined();
    expect(beatOf(ev("crm", "beat", { connector: "x", beat_at: 1 }))).toBeUndefined();
    expect(beatOf(ev("sidecar", "beat", null))).toBeUndefined(); // a delete (detach removes the row)
  });
});
