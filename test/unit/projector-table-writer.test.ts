import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TableShape } from "../../src/cdc/table.js";
import type { ToastRow, TruncateEvent } from "../../src/projector/batch-decode.js";
import { Abandoned, Retrier } from "../../src/projector/retry.js";
import { RowLines } from "../../src/projector/row-lines.js";
import type { ClickHouseSink, SchemaChange } from "../../src/projector/sink.js";
import { TableHealth } from "../../src/projector/table-health.js";
import { type Liveness, type TableBatch, TableWriter } from "../../src/projector/table-writer.js";
import type { Logger } from "../../src/shared/logger.js";

const log = { warn: () => undefined, info: () => undefined, error: () => undefined } as unknown as Logger;

const chError = (code: string, message: string) => Object.assign(new Error(message), { code });
const syntaxError = () => chError("62", "Syntax error: failed at position 1");
const parseError = (id: number) => chError("27", `Cannot parse input: row with id ${id}`);
const missingTable = () => chError("60", "Table shop.orders does not exist");

const shape = (fingerprint = "f1"): TableShape => ({
  schema: "public",
  table: "orders",
  target: "public_orders",
  columns: [],
  keys: ["id"],
  fingerprint,
});

interface Row {
  line: string;
  index: number;
}
const row = (id: number, index = id): Row => ({ line: JSON.stringify({ id }), index });

const ids = (rows: RowLines) => rows.lines().map((l) => JSON.parse(l).id as number);

/** The few methods of ClickHouseSink that TableWriter calls, in memory; each can be replaced per test. */
class FakeSink {
  /** Rows stored, by id, in insert order. */
  stored: number[] = [];
  calls: string[] = [];
  ensureTable = vi.fn(async (_shape: TableShape): Promise<SchemaChange[]> => {
    this.calls.push("ensureTable");
    return [];
  });
  hasRows = vi.fn(async (_target: string) => true);
  resolveUnavailable = vi.fn(async (_shape: TableShape, rows: Pick<ToastRow, "values" | "unavailable">[]) => {
    for (const r of rows) {
      r.values = { ...r.values, note: "from ClickHouse" };
      r.unavailable = [];
    }
    return rows.length;
  });
  /** Rows whose id is here are refused by ClickHouse (a data error for the whole insert). */
  poison = new Set<number>();
  insert = vi.fn(async (_shape: TableShape, rows: RowLines) => {
    this.calls.push(`insert ${ids(rows).join(",")}`);
    const bad = ids(rows).find((id) => this.poison.has(id));
    if (bad !== undefined) throw parseError(bad);
    this.stored.push(...ids(rows));
  });
  truncate = vi.fn(async (_shape: Pick<TableShape, "target" | "keys">, lsn: bigint, _commitTsUs: bigint) => {
    this.calls.push(`truncate ${lsn}`);
  });
  tableKeys = vi.fn(async (_target: string): Promise<string[] | undefined> => ["id"]);
  forget = vi.fn((_target: string) => undefined);

  asSink(): ClickHouseSink {
    return this as unknown as ClickHouseSink;
  }
}

function setup(attempts = 3) {
  const sink = new FakeSink();
  const saved: unknown[] = [];
  const health = new TableHealth(
    {
      load: async () => [],
      save: async (e) => {
        saved.push(...e);
      },
    },
    log,
  );
  const retrier = new Retrier(log, 1000);
  const runs = vi.spyOn(retrier, "run");
  const onRows = vi.fn();
  const writer = new TableWriter(sink.asSink(), retrier, health, attempts, onRows);
  return { sink, health, retrier, runs, onRows, writer };
}

const batch = (
  rows: Row[],
  truncates: TruncateEvent[] = [],
  shapes = [shape()],
  toast: ToastRow[] = [],
): TableBatch => ({
  shape: shapes[0] as TableShape,
  shapes: new Set(shapes),
  lines: RowLines.of(
    rows.map((r) => r.line),
    rows.map((r) => r.index),
  ),
  toast,
  truncates,
  indexes: [...rows.map((r) => r.index), ...toast.map((r) => r.index), ...truncates.map((t) => t.index)],
});

const live: Liveness = { alive: () => true, beat: async () => undefined };

/** Runs a store through the real Retrier's backoff on fake timers. */
async function settle<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined); // handled below, once the timers have run
  await vi.runAllTimersAsync();
  return p;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("TableWriter.store", () => {
  it("syncs each shape, inserts the rows in one insert, then applies the truncates; sets nothing aside", async () => {
    const { sink, writer, onRows, health } = setup();
    const b = batch([row(1), row(2), row(3)], [{ lsn: 2000n, commitTsUs: 7n, index: 3 }], [shape("f1"), shape("f2")]);
    await expect(settle(writer.store(b, live))).resolves.toEqual([]);
    expect(sink.calls).toEqual(["ensureTable", "ensureTable", "insert 1,2,3", "truncate 2000"]);
    expect(sink.ensureTable.mock.calls.map(([s]) => s.fingerprint)).toEqual(["f1", "f2"]);
    expect(sink.truncate).toHaveBeenCalledWith(b.shape, 2000n, 7n);
    expect(onRows).toHaveBeenCalledWith("public_orders", 3);
    expect(health.isDegraded("public_orders")).toBe(false);
  });

  it("fills the TOAST values of rows without a line before inserting them", async () => {
    const { sink, writer, onRows } = setup();
    const toast: ToastRow = { values: { id: 2 }, unavailable: ["note"], lsn: 5n, index: 1 };
    const b = batch([row(1, 0)], [], [shape()], [toast]);
    await settle(writer.store(b, live));
    expect(sink.resolveUnavailable).toHaveBeenCalledTimes(1);
    expect(sink.resolveUnavailable.mock.calls[0]?.[1]).toEqual([toast]);
    const inserted = sink.insert.mock.calls[0]?.[1] as RowLines;
    expect(inserted.lines()).toEqual([JSON.stringify({ id: 1 }), '{"id":2,"note":"from ClickHouse"}']);
    expect([...inserted.indexes]).toEqual([0, 1]);
    expect(b.lines.count).toBe(1); // the batch's own lines are left as they were
    expect(onRows).toHaveBeenCalledWith("public_orders", 2);
  });

  it("a refused TOAST row is found by halving like any other and set aside with its message", async () => {
    const { sink, writer } = setup(1);
    sink.poison = new Set([9]);
    const toast: ToastRow = { values: { id: 9 }, unavailable: ["note"], lsn: 5n, index: 7 };
    const aside = await settle(writer.store(batch([row(1, 0), row(2, 1)], [], [shape()], [toast]), live));
    expect(aside.map((a) => [a.index, a.kind])).toEqual([[7, "insert-rejected"]]);
    expect(sink.stored.sort()).toEqual([1, 2]);
  });

  it("waits out transient failures: the batch is stored, nothing set aside", async () => {
    const { sink, writer, health } = setup(1);
    let failures = 4;
    sink.insert.mockImplementation(async (_s, rows) => {
      if (failures-- > 0) throw chError("252", "Too many parts");
      sink.stored.push(...ids(rows));
    });
    await expect(settle(writer.store(batch([row(1), row(2)]), live))).resolves.toEqual([]);
    expect(sink.insert).toHaveBeenCalledTimes(5);
    expect(sink.stored).toEqual([1, 2]);
    expect(health.isDegraded("public_orders")).toBe(false);
  });

  it("a full disk is waited out, not split nor set aside, even on a degraded table (one try for what repeats)", async () => {
    const { sink, writer, health } = setup(1);
    health.mark("public_orders", "public.orders", "an earlier event was set aside");
    const full = () =>
      Object.assign(
        new Error("Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)"),
        {
          clickhouseCode: 243,
        },
      );
    let failures = 6;
    sink.ensureTable.mockImplementationOnce(async () => {
      throw chError("75", "Cannot write to file metadata/shop.sql.tmp, errno: 28, strerror: No space left on device");
    });
    sink.insert.mockImplementation(async (_s, rows) => {
      if (failures-- > 0) throw full();
      sink.stored.push(...ids(rows));
    });
    await expect(settle(writer.store(batch([row(1), row(2)]), live))).resolves.toEqual([]);
    expect(sink.insert.mock.calls.map(([, rows]) => ids(rows))).toEqual(Array(7).fill([1, 2]));
    expect(sink.stored).toEqual([1, 2]);
    expect(health.get("public_orders")?.reason).toBe("an earlier event was set aside");
  });

  it("sets the table's messages aside after `attempts` deterministic failures and marks it degraded", async () => {
    const { sink, writer, health, onRows } = setup(3);
    sink.insert.mockRejectedValue(syntaxError());
    const b = batch([row(1, 0), row(2, 4)], [{ lsn: 9n, commitTsUs: 1n, index: 6 }]);
    const aside = await settle(writer.store(b, live));
    expect(sink.insert).toHaveBeenCalledTimes(3);
    expect(aside.map((a) => [a.index, a.kind])).toEqual([
      [0, "failed"],
      [4, "failed"],
      [6, "failed"],
    ]);
    expect(aside[0]?.reason).toBe("insert failed 3 time(s) the same way: Syntax error: failed at position 1");
    expect(health.get("public_orders")).toMatchObject({
      source: "public.orders",
      reason: "insert failed 3 time(s) the same way: Syntax error: failed at position 1",
    });
    // Nothing after the failed step runs: no truncate, no rows counted.
    expect(sink.truncate).not.toHaveBeenCalled();
    expect(onRows).not.toHaveBeenCalled();
  });

  it("gives a degraded table one attempt per step", async () => {
    const { sink, writer, health, runs } = setup(5);
    health.mark("public_orders", "public.orders", "an earlier event was set aside");
    sink.insert.mockRejectedValue(syntaxError());
    const aside = await settle(writer.store(batch([row(1), row(2)]), live));
    expect(sink.insert).toHaveBeenCalledTimes(1);
    expect(aside).toHaveLength(2);
    expect(runs.mock.calls.every(([, , o]) => o.deterministicAttempts === 1)).toBe(true);
    // The first reason is kept.
    expect(health.get("public_orders")?.reason).toBe("an earlier event was set aside");
  });

  it("a schema step that keeps failing sets the table aside before any insert", async () => {
    const { sink, writer, health } = setup(2);
    sink.ensureTable.mockRejectedValue(chError("44", "Cannot add column: illegal type"));
    const aside = await settle(writer.store(batch([row(1)]), live));
    expect(sink.ensureTable).toHaveBeenCalledTimes(2);
    expect(sink.insert).not.toHaveBeenCalled();
    expect(aside).toEqual([{ index: 1, kind: "failed", reason: expect.stringMatching(/^schema failed 2 time/) }]);
    expect(health.isDegraded("public_orders")).toBe(true);
  });

  it("halving finds exactly the refused rows; every other row is stored once", async () => {
    const { sink, writer, health, onRows } = setup(2);
    sink.poison = new Set([3, 8, 9]);
    const rows = Array.from({ length: 11 }, (_, i) => row(i + 1, i * 2));
    const aside = await settle(writer.store(batch(rows), live));
    expect(aside.map((a) => [a.index, a.kind])).toEqual([
      [4, "insert-rejected"],
      [14, "insert-rejected"],
      [16, "insert-rejected"],
    ]);
    expect(aside[0]?.reason).toBe("Cannot parse input: row with id 3");
    expect(aside[2]?.reason).toBe("Cannot parse input: row with id 9");
    expect([...sink.stored].sort((a, b) => a - b)).toEqual([1, 2, 4, 5, 6, 7, 10, 11]);
    expect(new Set(sink.stored).size).toBe(sink.stored.length);
    expect(onRows).toHaveBeenCalledWith("public_orders", 8);
    expect(health.get("public_orders")?.reason).toBe("ClickHouse refused 3 row(s): Cannot parse input: row with id 3");
  });

  it("halving: a refused set of several rows gets `attempts` tries, a single row one", async () => {
    const { sink, writer, runs } = setup(3);
    sink.poison = new Set([2]);
    await settle(writer.store(batch([row(1), row(2)]), live));
    // [1,2] three times, then [1] and [2] once each.
    expect(sink.calls.filter((c) => c.startsWith("insert"))).toEqual([
      "insert 1,2",
      "insert 1,2",
      "insert 1,2",
      "insert 1",
      "insert 2",
    ]);
    const insertRuns = runs.mock.calls
      .filter(([stage]) => stage === "insert")
      .map(([, , o]) => o.deterministicAttempts);
    expect(insertRuns).toEqual([3, 1, 1]);
  });

  it("halving: the parts of a refused set are tried once each", async () => {
    const { sink, writer } = setup(3);
    sink.poison = new Set([2]);
    await settle(writer.store(batch([row(1), row(2), row(3), row(4)]), live));
    expect(sink.calls.filter((c) => c.startsWith("insert"))).toEqual([
      "insert 1,2,3,4",
      "insert 1,2,3,4",
      "insert 1,2,3,4",
      "insert 1,2",
      "insert 1",
      "insert 2",
      "insert 3,4",
    ]);
  });

  it("halving a batch where every row is refused costs one insert per step, not three", async () => {
    const { sink, writer } = setup(3);
    const rows = Array.from({ length: 256 }, (_, i) => row(i + 1));
    sink.poison = new Set(rows.map((_, i) => i + 1));
    const aside = await settle(writer.store(batch(rows), live));
    expect(aside).toHaveLength(256);
    // 3 tries of the whole set, then each of the 2 × 256 − 2 parts once (was 1,021 inserts).
    expect(sink.insert).toHaveBeenCalledTimes(3 + 510);
  });

  it("a lone refused row is set aside at once", async () => {
    const { sink, writer } = setup(3);
    sink.poison = new Set([1]);
    const aside = await settle(writer.store(batch([row(1, 7)]), live));
    expect(sink.insert).toHaveBeenCalledTimes(1);
    expect(aside).toEqual([{ index: 7, kind: "insert-rejected", reason: "Cannot parse input: row with id 1" }]);
  });

  it("a missing table is created again once, the table marked degraded, and the batch stored", async () => {
    const { sink, writer, health } = setup(2);
    let missing = true;
    sink.insert.mockImplementation(async (_s, rows) => {
      if (missing) throw missingTable();
      sink.stored.push(...ids(rows));
    });
    sink.forget.mockImplementation(() => {
      missing = false;
    });
    const aside = await settle(writer.store(batch([row(1), row(2)]), live));
    expect(aside).toEqual([]);
    expect(sink.forget).toHaveBeenCalledTimes(1);
    expect(sink.forget).toHaveBeenCalledWith("public_orders");
    // Synced again after being forgotten, then inserted.
    expect(sink.ensureTable).toHaveBeenCalledTimes(2);
    expect(sink.stored).toEqual([1, 2]);
    expect(health.get("public_orders")?.reason).toMatch(
      /^the ClickHouse table or one of its columns was missing .*created again; rows stored before are gone: Table shop\.orders does not exist$/,
    );
  });

  it("rows are counted once when the table is healed after their insert (the steps run again)", async () => {
    const { sink, writer, onRows } = setup(2);
    let missing = true;
    sink.truncate.mockImplementation(async () => {
      if (missing) throw missingTable();
    });
    sink.forget.mockImplementation(() => {
      missing = false;
    });
    const tb = batch([row(1), row(2)], [{ lsn: 5000n, commitTsUs: 1n, index: 9 }]);
    expect(await settle(writer.store(tb, live))).toEqual([]);
    expect(sink.stored).toEqual([1, 2, 1, 2]); // inserted again after healing
    expect(onRows).toHaveBeenCalledTimes(1);
    expect(onRows).toHaveBeenCalledWith("public_orders", 2);
  });

  it("a table still missing after healing once is set aside, not healed again", async () => {
    const { sink, writer, health } = setup(2);
    sink.insert.mockImplementation(async () => {
      // Healing without end would loop here: stop it as a failure of this test.
      if (sink.insert.mock.calls.length > 10) throw new Abandoned("healed again and again");
      throw missingTable();
    });
    const aside = await settle(writer.store(batch([row(1, 0), row(2, 1)]), live));
    expect(sink.forget).toHaveBeenCalledTimes(1);
    // Two attempts before healing; one after (the table is degraded by then).
    expect(sink.insert).toHaveBeenCalledTimes(3);
    expect(aside.map((a) => [a.index, a.kind])).toEqual([
      [0, "failed"],
      [1, "failed"],
    ]);
    expect(aside[0]?.reason).toMatch(/^insert failed 1 time\(s\) the same way: Table shop\.orders does not exist/);
    // The first reason (the healing) is what the health mark keeps.
    expect(health.get("public_orders")?.reason).toMatch(/was missing/);
  });

  it("an insert naming a column ClickHouse lacks heals (not split as a data error)", async () => {
    const { sink, writer, health } = setup(2);
    let missing = true;
    sink.insert.mockImplementation(async (_s, rows) => {
      if (missing) throw chError("117", "Unknown field found while parsing JSONEachRow format: note");
      sink.stored.push(...ids(rows));
    });
    sink.forget.mockImplementation(() => {
      missing = false;
    });
    await expect(settle(writer.store(batch([row(1), row(2)]), live))).resolves.toEqual([]);
    expect(sink.forget).toHaveBeenCalledTimes(1);
    expect(sink.calls.filter((c) => c.startsWith("insert"))).not.toContain("insert 1");
    expect(health.isDegraded("public_orders")).toBe(true);
  });

  describe("schema changes", () => {
    it("a column added to a table holding rows marks it degraded", async () => {
      const { sink, writer, health } = setup();
      sink.ensureTable.mockResolvedValue([
        { column: "note", kind: "added", to: "Nullable(String)" },
        { column: "qty", kind: "added", to: "Int32" },
      ]);
      await settle(writer.store(batch([row(1)]), live));
      expect(sink.hasRows).toHaveBeenCalledWith("public_orders");
      // What is true: a NOT NULL column reads its type's default, not NULL.
      expect(health.get("public_orders")?.reason).toBe(
        "schema changed while streaming: column(s) added to the projection (new at the source, or dropped from ClickHouse by hand): rows stored before read note = NULL, qty = 0 here, whatever the source holds; run repair to check and re-read",
      );
    });

    it("a column added to an empty table is no change worth a mark", async () => {
      const { sink, writer, health } = setup();
      sink.ensureTable.mockResolvedValue([{ column: "note", kind: "added" }]);
      sink.hasRows.mockResolvedValue(false);
      await settle(writer.store(batch([row(1)]), live));
      expect(health.isDegraded("public_orders")).toBe(false);
      expect(sink.stored).toEqual([1]);
    });

    it("a changed type marks the table degraded, whether or not it holds rows", async () => {
      const { sink, writer, health } = setup();
      sink.ensureTable.mockResolvedValue([{ column: "total", kind: "type", from: "Int32", to: "Int64" }]);
      sink.hasRows.mockResolvedValue(false);
      await settle(writer.store(batch([row(1)]), live));
      expect(sink.hasRows).not.toHaveBeenCalled();
      expect(health.get("public_orders")?.reason).toBe(
        "schema changed while streaming: type changed: total (Int32 → Int64); run repair to check and re-read",
      );
    });

    it("a table recreated by the schema sync marks it degraded", async () => {
      const { sink, writer, health } = setup();
      sink.ensureTable.mockResolvedValue([{ column: "", kind: "recreated" }]);
      await settle(writer.store(batch([row(1)]), live));
      expect(health.get("public_orders")?.reason).toBe(
        "the ClickHouse table was missing (dropped by hand?) and was created again; rows stored before are gone",
      );
      expect(sink.stored).toEqual([1]);
    });
  });

  it("throws Abandoned when the work is no longer wanted, setting nothing aside", async () => {
    const { sink, writer, health } = setup();
    await expect(
      settle(writer.store(batch([row(1)]), { alive: () => false, beat: async () => undefined })),
    ).rejects.toBeInstanceOf(Abandoned);
    expect(sink.insert).not.toHaveBeenCalled();
    expect(health.isDegraded("public_orders")).toBe(false);
  });
});

describe("TableWriter.storeTruncates", () => {
  const truncates: TruncateEvent[] = [
    { lsn: 10n, commitTsUs: 100n, index: 2 },
    { lsn: 20n, commitTsUs: 200n, index: 5 },
  ];

  it("reads the table's keys from ClickHouse and applies each truncate", async () => {
    const { sink, writer } = setup();
    sink.tableKeys.mockResolvedValue(["tenant", "id"]);
    await expect(settle(writer.storeTruncates("public_orders", "public.orders", truncates, live))).resolves.toEqual([]);
    expect(sink.tableKeys).toHaveBeenCalledWith("public_orders");
    expect(sink.truncate.mock.calls).toEqual([
      [{ target: "public_orders", keys: ["tenant", "id"] }, 10n, 100n],
      [{ target: "public_orders", keys: ["tenant", "id"] }, 20n, 200n],
    ]);
  });

  it("no projected table: nothing to clear", async () => {
    const { sink, writer } = setup();
    sink.tableKeys.mockResolvedValue(undefined);
    await expect(settle(writer.storeTruncates("public_orders", "public.orders", truncates, live))).resolves.toEqual([]);
    expect(sink.truncate).not.toHaveBeenCalled();
  });

  it("a truncate that keeps failing sets the truncates aside and marks the table degraded", async () => {
    const { sink, writer, health } = setup(2);
    sink.truncate.mockRejectedValue(syntaxError());
    const aside = await settle(writer.storeTruncates("public_orders", "public.orders", truncates, live));
    expect(sink.truncate).toHaveBeenCalledTimes(2);
    expect(aside.map((a) => [a.index, a.kind])).toEqual([
      [2, "failed"],
      [5, "failed"],
    ]);
    expect(health.get("public_orders")).toMatchObject({
      source: "public.orders",
      reason: expect.stringMatching(/^truncate failed 2 time/),
    });
  });
});
