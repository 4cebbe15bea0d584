import { describe, expect, test } from "vitest";
import type { ChangeEvent, ConnectSchema } from "../../src/cdc/envelope.js";
import { tableShape } from "../../src/cdc/table.js";
import { TOAST_PLACEHOLDER } from "../../src/cdc/types.js";
import { RowLines, RowLinesBuilder } from "../../src/projector/row-lines.js";
import { type BuiltRow, buildRow, encodeRow, foldRow, LineRow } from "../../src/projector/rows.js";

const rowSchema: ConnectSchema = {
  type: "struct",
  optional: true,
  fields: [
    { field: "id", type: "int64", optional: false },
    { field: "note", type: "string", optional: true },
    { field: "big", type: "string", optional: true },
    { field: "f", type: "double", optional: true },
  ],
};
const keySchema = { type: "struct", fields: [{ field: "id", type: "int64", optional: false }] };
const shape = tableShape("s", "t", rowSchema, keySchema as never);

const ev = (op: "c" | "u" | "d", lsn: bigint, row: Record<string, unknown>): ChangeEvent =>
  ({
    op,
    schema: "s",
    table: "t",
    lsn,
    commitTsUs: 1_700_000_000_000_001n,
    before: op === "d" ? row : null,
    after: op === "d" ? null : row,
  }) as unknown as ChangeEvent;

const built = (e: ChangeEvent): BuiltRow => encodeRow(shape, e) ?? buildRow(shape, e);

/** What batch-decode did before RowLinesBuilder: foldRow over a Map, then one string per row. */
function reference(events: ChangeEvent[]) {
  const latest = new Map<string, BuiltRow>();
  const indexOf = new Map<BuiltRow, number>();
  events.forEach((e, i) => {
    const r = built(e);
    foldRow(latest, r);
    indexOf.set(r, i);
  });
  const lines: { line: string; index: number }[] = [];
  const toast: { values: Record<string, unknown>; unavailable: string[]; lsn: bigint; index: number }[] = [];
  for (const r of latest.values()) {
    const index = indexOf.get(r) as number;
    if (r instanceof LineRow) lines.push({ line: r.line, index });
    else if (r.unavailable.length === 0) lines.push({ line: JSON.stringify(r.values), index });
    else {
      for (const col of r.unavailable) delete r.values[col];
      toast.push({ values: r.values, unavailable: r.unavailable, lsn: r.lsn, index });
    }
  }
  return { lines, toast };
}

function viaBuilder(events: ChangeEvent[]) {
  const b = new RowLinesBuilder();
  events.forEach((e, i) => {
    b.add(built(e), i);
  });
  const out = b.finish();
  const lines = new RowLines(Buffer.from(out.body), out.indexes);
  return { out, lines: lines.lines().map((line, i) => ({ line, index: out.indexes[i] as number })) };
}

describe("RowLinesBuilder", () => {
  test("each key once, every row a line: the lines in order, the buffer as it is", () => {
    const events = [ev("c", 10n, { id: 1, note: "a", f: -0 }), ev("c", 11n, { id: 2, note: "é\n\u2028", f: 1.5 })];
    const { out, lines } = viaBuilder(events);
    expect(lines).toEqual(reference(events).lines);
    expect(JSON.parse(lines[1]?.line as string).note).toBe("é\n\u2028");
    expect(lines[0]?.line).toContain('"f":-0');
    expect(out.toast).toEqual([]);
    expect(out.maxLsn).toBe(11n);
    expect(out.body.buffer.byteLength).toBeGreaterThanOrEqual(out.body.byteLength); // its own ArrayBuffer
  });

  test("the latest row per key wins in the order keys first appeared; an older duplicate never wins", () => {
    const events = [
      ev("c", 10n, { id: 1, note: "first" }),
      ev("c", 11n, { id: 2, note: "two" }),
      ev("u", 12n, { id: 1, note: "second" }),
      ev("u", 5n, { id: 2, note: "stale" }),
      ev("d", 13n, { id: 2 }),
      ev("c", 14n, { id: 3, note: "three" }),
    ];
    const { out, lines } = viaBuilder(events);
    expect(lines).toEqual(reference(events).lines);
    expect(lines.map((l) => l.index)).toEqual([2, 4, 5]);
    expect(JSON.parse(lines[1]?.line as string)).toMatchObject({ id: 2, _deleted: 1 });
    expect(out.maxLsn).toBe(14n);
  });

  test("unchanged TOAST columns take the previous line's value, or stay for ClickHouse to fill", () => {
    const events = [
      ev("c", 10n, { id: 1, note: "n", big: "BIG", f: -0 }),
      ev("u", 11n, { id: 1, note: "n2", big: TOAST_PLACEHOLDER, f: 2 }),
      ev("u", 12n, { id: 2, note: "x", big: TOAST_PLACEHOLDER }),
      ev("d", 13n, { id: 3 }),
      ev("u", 14n, { id: 3, note: "after delete", big: TOAST_PLACEHOLDER }),
    ];
    const { out, lines } = viaBuilder(events);
    const ref = reference(events);
    expect(lines).toEqual(ref.lines);
    expect(out.toast).toEqual(ref.toast);
    expect(JSON.parse(lines[0]?.line as string)).toMatchObject({ id: 1, note: "n2", big: "BIG", f: 2 });
    expect(out.toast.map((t) => [t.index, t.unavailable])).toEqual([
      [2, ["big"]],
      [4, ["big"]],
    ]);
    expect(out.toast[0]?.values).not.toHaveProperty("big");
    expect(out.maxLsn).toBe(14n);
  });

  test("a buffer that grows keeps every line whole (long and multi-byte values)", () => {
    const events: ChangeEvent[] = [];
    for (let i = 0; i < 3000; i++)
      events.push(ev("c", BigInt(100 + i), { id: i % 1000, note: `${"ü€".repeat(i % 97)}${i}`, big: "x".repeat(i) }));
    const { out, lines } = viaBuilder(events);
    expect(lines).toEqual(reference(events).lines);
    expect(lines).toHaveLength(1000);
    expect(out.maxLsn).toBe(3099n);
  });

  test("no rows: an empty body", () => {
    const out = new RowLinesBuilder().finish();
    expect(out.body.byteLength).toBe(0);
    expect(out.indexes).toHaveLength(0);
    expect(out.maxLsn).toBeUndefined();
  });
});

describe("RowLines", () => {
  const five = RowLines.of(['{"id":1}', '{"id":2,"s":"é"}', '{"id":3}', '{"id":4}', '{"id":5}'], [7, 8, 9, 10, 11]);

  test("of / lines / count round-trip", () => {
    expect(five.count).toBe(5);
    expect(five.lines()[1]).toBe('{"id":2,"s":"é"}');
    expect(five.body.at(-1)).toBe(0x0a);
    expect(RowLines.of([], []).lines()).toEqual([]);
    expect(() => RowLines.of(["{}"], [])).toThrow(/one message index per line/);
  });

  test("slices by line share the bytes and keep each line's message", () => {
    const a = five.slice(0, 3);
    const b = five.slice(3, 5);
    expect(a.lines()).toEqual(five.lines().slice(0, 3));
    expect([...a.indexes]).toEqual([7, 8, 9]);
    expect(b.lines()).toEqual(['{"id":4}', '{"id":5}']);
    expect([...b.indexes]).toEqual([10, 11]);
    expect(a.slice(1, 2).lines()).toEqual(['{"id":2,"s":"é"}']);
    expect(five.slice(5, 5).count).toBe(0);
  });

  test("append makes a new set and leaves this one as it was", () => {
    const more = five.slice(0, 1).append(['{"id":9}'], [42]);
    expect(more.lines()).toEqual(['{"id":1}', '{"id":9}']);
    expect([...more.indexes]).toEqual([7, 42]);
    expect(five.count).toBe(5);
    expect(five.append([], [])).toBe(five);
  });
});
