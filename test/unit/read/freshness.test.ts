import { describe, expect, it } from "vitest";
import { freshnessBlock, memoryFreshness, waitForLsn } from "../../../src/read/freshness.js";
import { fromProjectorWatermark, parseClickHouseUtc, projectorFreshness } from "../../../src/read/progress.js";

describe("freshness", () => {
  it("renders the block with LSN text and lag", () => {
    const now = Date.parse("2024-01-01T00:00:01.500Z");
    expect(freshnessBlock({ lsn: 0x1_0000_00ffn, commitTime: new Date("2024-01-01T00:00:00Z") }, now)).toEqual({
      lsn: "1/FF",
      commitTime: "2024-01-01T00:00:00.000Z",
      lagMs: 1500,
    });
    expect(freshnessBlock(null)).toEqual({ lsn: null, commitTime: null, lagMs: null });
  });

  it("waits until the watermark reaches the token, or gives up after the bound", async () => {
    let lsn = 10n;
    const source = memoryFreshness(() => ({ lsn, commitTime: new Date() }), 5);
    setTimeout(() => {
      lsn = 20n;
    }, 50);
    const ok = await waitForLsn(source, 20n, 2_000);
    expect(ok.ok).toBe(true);
    expect(ok.waitedMs).toBeGreaterThanOrEqual(40);
    const late = await waitForLsn(source, 21n, 100);
    expect(late.ok).toBe(false);
    expect(late.waitedMs).toBeGreaterThanOrEqual(100);
    expect(late.watermark?.lsn).toBe(20n);
  });

  it("a read of some tables waits for their watermark; other reads for the global one", async () => {
    const pw = (lsn: bigint) => ({ lsn, commitTsUs: 1n, publishedAt: 0 });
    const seen: (readonly string[])[] = [];
    const source = projectorFreshness(
      {
        watermark: () => pw(10n),
        watermarkFor: (tables) => {
          seen.push(tables);
          return pw(tables.includes("shop__customers") ? 30n : 10n);
        },
      },
      5,
    );
    expect((await waitForLsn(source, 30n, 1_000, ["shop__customers"])).ok).toBe(true);
    expect((await waitForLsn(source, 30n, 50, ["shop__orders"])).ok).toBe(false);
    expect((await waitForLsn(source, 30n, 50)).ok).toBe(false);
    expect((await waitForLsn(source, 30n, 50, [])).ok).toBe(false);
    expect(seen.every((t) => t.length > 0)).toBe(true); // no tables: the global watermark, never watermarkFor([])
  });

  it("adapts the projector's watermark and the progress table's timestamps", () => {
    expect(
      fromProjectorWatermark({ lsn: 5n, commitTsUs: 1_700_000_000_123_456n, publishedAt: new Date(1_700_000_001_000) }),
    ).toEqual({
      lsn: 5n,
      commitTime: new Date(1_700_000_000_123),
      updatedAt: new Date(1_700_000_001_000),
    });
    expect(fromProjectorWatermark(undefined)).toBeNull();
    expect(parseClickHouseUtc("2024-01-02 03:04:05.678901")?.toISOString()).toBe("2024-01-02T03:04:05.678Z");
    expect(parseClickHouseUtc("1970-01-01 00:00:00.000000")).toBeNull();
  });
});
