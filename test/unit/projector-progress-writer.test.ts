import { describe, expect, it, vi } from "vitest";
import { type ProgressEntry, ProgressWriter } from "../../src/projector/progress-writer.js";
import type { Watermark } from "../../src/projector/watermark.js";

const rows = { watermark: "__watermark", tableWatermark: (t: string) => `__watermark:${t}` };

function setup() {
  const writes: ProgressEntry[][] = [];
  const write = vi.fn(async (entries: ProgressEntry[]) => {
    writes.push(entries);
  });
  return { writer: new ProgressWriter(rows, write), write, writes };
}

const w = (lsn: bigint, commitTsUs = lsn * 10n): Watermark => ({ lsn, commitTsUs, publishedAt: 0 });

describe("ProgressWriter", () => {
  it("nothing recorded and no watermark: no write", async () => {
    const { writer, write } = setup();
    await writer.flush(undefined, []);
    await writer.flush(undefined, [["t", undefined]]);
    expect(write).not.toHaveBeenCalled();
  });

  it("writes each table's newest stored LSN once; an older LSN does not move it back", async () => {
    const { writer, writes } = setup();
    writer.recordStored("t1", "public.t1", 100n, 1000n);
    writer.recordStored("t1", "public.t1", 90n, 900n);
    writer.recordStored("t2", "public.t2", 50n, 500n);
    await writer.flush(undefined, []);
    expect(writes).toEqual([
      [
        { table: "t1", source: "public.t1", lsn: 100n, commitTsUs: 1000n },
        { table: "t2", source: "public.t2", lsn: 50n, commitTsUs: 500n },
      ],
    ]);
    await writer.flush(undefined, []);
    expect(writes).toHaveLength(1);
    writer.recordStored("t1", "public.t1", 100n, 1000n);
    await writer.flush(undefined, []);
    expect(writes).toHaveLength(1);
    writer.recordStored("t2", "public.t2", 60n, 600n);
    await writer.flush(undefined, []);
    expect(writes[1]).toEqual([{ table: "t2", source: "public.t2", lsn: 60n, commitTsUs: 600n }]);
  });

  it("writes the global watermark and each table's watermark only when they moved ahead", async () => {
    const { writer, writes } = setup();
    await writer.flush(w(10n), [
      ["t1", w(8n)],
      ["t2", undefined],
    ]);
    expect(writes[0]).toEqual([
      { table: "__watermark", source: "", lsn: 10n, commitTsUs: 100n },
      { table: "__watermark:t1", source: "", lsn: 8n, commitTsUs: 80n },
    ]);
    await writer.flush(w(10n), [
      ["t1", w(8n)],
      ["t2", undefined],
    ]);
    expect(writes).toHaveLength(1);
    await writer.flush(w(10n), [
      ["t1", w(7n)],
      ["t2", w(3n)],
    ]);
    expect(writes[1]).toEqual([{ table: "__watermark:t2", source: "", lsn: 3n, commitTsUs: 30n }]);
    await writer.flush(w(12n), []);
    expect(writes[2]).toEqual([{ table: "__watermark", source: "", lsn: 12n, commitTsUs: 120n }]);
  });

  it("a failed write is written again at the next flush", async () => {
    const { writer, write, writes } = setup();
    writer.recordStored("t1", "public.t1", 100n, 1000n);
    write.mockRejectedValueOnce(new Error("ClickHouse away"));
    await expect(writer.flush(w(10n), [["t1", w(9n)]])).rejects.toThrow("ClickHouse away");
    await writer.flush(w(10n), [["t1", w(9n)]]);
    expect(writes).toEqual([
      [
        { table: "t1", source: "public.t1", lsn: 100n, commitTsUs: 1000n },
        { table: "__watermark", source: "", lsn: 10n, commitTsUs: 100n },
        { table: "__watermark:t1", source: "", lsn: 9n, commitTsUs: 90n },
      ],
    ]);
  });

  it("a table stored further while a write is under way stays to be written", async () => {
    const { writer, write, writes } = setup();
    writer.recordStored("t1", "public.t1", 100n, 1000n);
    let finish: () => void = () => undefined;
    write.mockImplementationOnce(
      (entries) =>
        new Promise<void>((resolve) => {
          writes.push(entries);
          finish = resolve;
        }),
    );
    const first = writer.flush(undefined, []);
    writer.recordStored("t1", "public.t1", 120n, 1200n);
    finish();
    await first;
    await writer.flush(undefined, []);
    expect(writes.map((e) => e.map((x) => x.lsn))).toEqual([[100n], [120n]]);
  });
});
