import { describe, expect, test } from "vitest";
import { UNAVAILABLE } from "../../src/cdc/types.js";
import { type BuiltRow, foldRow } from "../../src/projector/rows.js";
import { partitionKey, WatermarkTracker } from "../../src/projector/watermark.js";

const A = partitionKey("p.s.a", 0);
const B = partitionKey("p.s.b", 0);

describe("per-topic watermark (reads of some tables wait for their topics only)", () => {
  const TA = "p.s.a";
  const TB = "p.s.b";
  const busy = () => {
    const w = new WatermarkTracker();
    w.recordApplied(A, 10n, 500n, 1000n);
    w.recordApplied(B, 3n);
    // B has 7 events not applied yet (a busy topic); A is caught up.
    w.addCandidate(
      w.snapshotLsn() as never,
      new Map([
        [A, 10n],
        [B, 10n],
      ]),
    );
    return w;
  };

  test("a caught-up topic passes the token while a busy one holds the global watermark back", () => {
    const w = busy();
    expect(w.evaluate(7)).toBeUndefined();
    expect(w.currentFor([TA])).toEqual({ lsn: 500n, commitTsUs: 1000n, publishedAt: 7 });
    expect(w.currentFor([TB])).toBeUndefined();
    expect(w.currentFor([TA, TB])).toBeUndefined(); // a read of both waits for both
    w.recordApplied(B, 10n);
    expect(w.evaluate(8)?.lsn).toBe(500n);
    expect(w.currentFor([TB])?.lsn).toBe(500n);
  });

  test("no topics, or one never paired, fall back to the global watermark", () => {
    const w = busy();
    w.recordApplied(B, 10n);
    w.evaluate();
    expect(w.currentFor([])).toEqual(w.current());
    expect(w.currentFor(["p.s.unknown"])).toEqual(w.current());
  });

  test("a topic's own watermark never reads below the global one", () => {
    const w = busy();
    w.evaluate(); // A alone: 500
    w.recordApplied(B, 10n, 600n, 2000n);
    w.recordApplied(A, 11n, 700n, 3000n);
    w.addCandidate(
      w.snapshotLsn() as never,
      new Map([
        [A, 11n],
        [B, 10n],
      ]),
    );
    expect(w.evaluate()?.lsn).toBe(700n);
    expect(w.currentFor([TA])?.lsn).toBe(700n);
    expect(w.currentFor([TB])?.lsn).toBe(700n);
  });

  test("with the candidate list full, the newest pairing still moves the topics that keep up", () => {
    const w = new WatermarkTracker(2);
    w.recordApplied(B, 1n);
    for (let i = 1n; i <= 5n; i++) {
      w.recordApplied(A, i, 100n * i, i);
      w.addCandidate(
        w.snapshotLsn() as never,
        new Map([
          [A, i],
          [B, 100n], // never reached
        ]),
      );
      w.evaluate();
    }
    expect(w.current()).toBeUndefined();
    expect(w.currentFor([TA])?.lsn).toBe(500n);
  });
});

describe("consistency watermark", () => {
  test("nothing is published before any event was applied", () => {
    const w = new WatermarkTracker();
    expect(w.snapshotLsn()).toBeUndefined();
    expect(w.evaluate()).toBeUndefined();
  });

  test("a candidate publishes only once every partition reached its high watermark", () => {
    const w = new WatermarkTracker();
    w.recordApplied(A, 10n, 500n, 1000n);
    w.recordApplied(B, 3n);
    const l = w.snapshotLsn();
    expect(l).toEqual({ lsn: 500n, commitTsUs: 1000n });
    // High watermarks fetched after L: B has 2 more events we have not applied yet.
    w.addCandidate(
      l as never,
      new Map([
        [A, 10n],
        [B, 5n],
      ]),
    );
    expect(w.evaluate()).toBeUndefined();
    w.recordApplied(B, 5n, 450n, 900n); // older lsn on another topic: L stays 500
    expect(w.evaluate(1234)).toEqual({ lsn: 500n, commitTsUs: 1000n, publishedAt: 1234 });
  });

  test("a partition never consumed holds the watermark back; empty partitions do not", () => {
    const w = new WatermarkTracker();
    w.recordApplied(A, 1n, 10n, 1n);
    w.addCandidate(
      w.snapshotLsn() as never,
      new Map([
        [A, 1n],
        [B, 0n],
      ]),
    );
    expect(w.evaluate()?.lsn).toBe(10n);
    w.recordApplied(A, 2n, 20n, 2n);
    w.addCandidate(
      w.snapshotLsn() as never,
      new Map([
        [A, 2n],
        [partitionKey("p.s.new", 0), 1n],
      ]),
    );
    expect(w.evaluate()?.lsn).toBe(10n);
    w.recordApplied(partitionKey("p.s.new", 0), 1n, 15n, 1n);
    expect(w.evaluate()?.lsn).toBe(20n);
  });

  test("the newest satisfied candidate wins; the watermark never moves back", () => {
    const w = new WatermarkTracker();
    w.recordApplied(A, 1n, 100n, 1n);
    w.addCandidate(w.snapshotLsn() as never, new Map([[A, 1n]]));
    w.recordApplied(A, 2n, 200n, 2n);
    w.addCandidate(w.snapshotLsn() as never, new Map([[A, 2n]]));
    expect(w.pendingCandidates()).toBe(2);
    expect(w.evaluate()?.lsn).toBe(200n);
    expect(w.pendingCandidates()).toBe(0);
    w.addCandidate({ lsn: 150n, commitTsUs: 0n }, new Map());
    expect(w.evaluate()?.lsn).toBe(200n);
  });

  test("seeded offsets (the group's committed position) count as applied", () => {
    const w = new WatermarkTracker();
    w.seedApplied(B, 7n);
    w.recordApplied(A, 1n, 5n, 1n);
    w.addCandidate(
      w.snapshotLsn() as never,
      new Map([
        [A, 1n],
        [B, 7n],
      ]),
    );
    expect(w.evaluate()?.lsn).toBe(5n);
  });
});

describe("pairing a source position only once", () => {
  test("hasCandidateFor: true once a position is pending or published, false for a newer one", () => {
    const t = new WatermarkTracker();
    expect(t.hasCandidateFor(10n)).toBe(false);
    t.addCandidate({ lsn: 10n, commitTsUs: 1n }, new Map([["a:0", 5n]]));
    expect(t.hasCandidateFor(10n)).toBe(true);
    expect(t.hasCandidateFor(9n)).toBe(true);
    expect(t.hasCandidateFor(11n)).toBe(false);
    t.recordApplied("a:0", 5n, 8n, 1n);
    expect(t.evaluate()?.lsn).toBe(10n);
    expect(t.pendingCandidates()).toBe(0);
    expect(t.hasCandidateFor(10n)).toBe(true);
    expect(t.hasCandidateFor(12n)).toBe(false);
  });
});

describe("folding rows within a batch", () => {
  const row = (
    lsn: bigint,
    values: Record<string, unknown>,
    unavailable: string[] = [],
    deleted = false,
  ): BuiltRow => ({
    values,
    unavailable,
    keyId: "[1]",
    lsn,
    deleted,
  });
  test("the newest row per key wins, an older duplicate never does", () => {
    const m = new Map<string, BuiltRow>();
    foldRow(m, row(2n, { id: 1, v: "new" }));
    foldRow(m, row(1n, { id: 1, v: "old" }));
    expect(m.get("[1]")?.values.v).toBe("new");
  });
  test("an unchanged TOAST column takes the value of the previous row in the batch", () => {
    const m = new Map<string, BuiltRow>();
    foldRow(m, row(1n, { id: 1, big: "BIG", n: 1 }));
    foldRow(m, row(2n, { id: 1, big: UNAVAILABLE, n: 2 }, ["big"]));
    expect(m.get("[1]")).toMatchObject({ values: { id: 1, big: "BIG", n: 2 }, unavailable: [] });
  });
  test("still unavailable when the previous row did not know it either", () => {
    const m = new Map<string, BuiltRow>();
    foldRow(m, row(1n, { id: 1, big: UNAVAILABLE }, ["big"]));
    foldRow(m, row(2n, { id: 1, big: UNAVAILABLE }, ["big"]));
    expect(m.get("[1]")?.unavailable).toEqual(["big"]);
  });
});
