import { describe, expect, test } from "vitest";
import type { ChangeEvent, ConnectSchema } from "../../src/cdc/envelope.js";
import { tableShape } from "../../src/cdc/table.js";
import { TOAST_PLACEHOLDER } from "../../src/cdc/types.js";
import { buildRow, encodeRow, foldRow, jsonValue, LineRow } from "../../src/projector/rows.js";

const src = (type: string, length?: number, scale?: number): Record<string, string> => ({
  "__debezium.source.column.type": type,
  ...(length === undefined ? {} : { "__debezium.source.column.length": String(length) }),
  ...(scale === undefined ? {} : { "__debezium.source.column.scale": String(scale) }),
});
const fields: ConnectSchema[] = [
  { field: "id", type: "int64", optional: false, parameters: src("INT8") },
  { field: "code", type: "string", optional: false, parameters: src("TEXT") },
  { field: "price", type: "string", optional: true, parameters: src("NUMERIC", 12, 2) },
  { field: "qty", type: "int32", optional: true, parameters: src("INT4") },
  { field: "at", type: "string", optional: true, name: "io.debezium.time.ZonedTimestamp" },
  { field: "day", type: "int32", optional: true, name: "io.debezium.time.Date" },
  { field: "tags", type: "array", optional: true, items: { type: "string", optional: true } },
  { field: "ok", type: "boolean", optional: true },
  { field: "note", type: "string", optional: true, parameters: src("TEXT") },
  { field: "doc", type: "string", optional: true, name: "io.debezium.data.Json" },
];
const rowSchema: ConnectSchema = { type: "struct", optional: true, fields };
const keySchema = {
  type: "struct",
  fields: [
    { field: "code", type: "string", optional: false },
    { field: "id", type: "int64", optional: false },
  ],
};
const shape = tableShape("s", "t", rowSchema, keySchema as never);

const event = (after: Record<string, unknown>, lsn = 42n): ChangeEvent =>
  ({
    op: "u",
    schema: "s",
    table: "t",
    lsn,
    commitTsUs: 1_700_000_000_123_456n,
    before: null,
    after,
  }) as unknown as ChangeEvent;

const full = {
  id: 9007199254740993n.toString(),
  code: 'a"b\\c\u2028',
  price: "12.30",
  qty: -3,
  at: "2024-02-29T23:59:59.123456Z",
  day: 19782,
  tags: ["x", null, "ü"],
  ok: false,
  note: null,
  doc: '{"k":[1,2]}',
};

describe("rows written straight to JSON lines", () => {
  test("the line holds exactly what buildRow's object serialises to, and the same key identity", () => {
    for (const after of [full, { ...full, price: null, tags: null, at: null, day: null, ok: null, doc: null }]) {
      const ev = event(after);
      const line = encodeRow(shape, ev) as LineRow;
      const built = buildRow(shape, ev);
      expect(line).toBeInstanceOf(LineRow);
      expect(JSON.parse(line.line)).toEqual(JSON.parse(JSON.stringify(built.values)));
      expect(line.keyId).toBe(built.keyId);
      expect(line.lsn).toBe(42n);
    }
  });

  test("an unchanged TOAST value or a delete takes the object path", () => {
    expect(encodeRow(shape, event({ ...full, note: TOAST_PLACEHOLDER }))).toBeUndefined();
    expect(encodeRow(shape, { ...event(full), op: "d" } as ChangeEvent)).toBeUndefined();
  });

  test("a TOAST row folded over a line row takes the line's value", () => {
    const m = new Map();
    foldRow(m, encodeRow(shape, event({ ...full, note: "big text" }, 1n)) as LineRow);
    const toast = buildRow(shape, event({ ...full, qty: 7, note: TOAST_PLACEHOLDER }, 2n));
    foldRow(m, toast);
    const latest = m.get(toast.keyId);
    expect(latest.unavailable).toEqual([]);
    expect(latest.values).toMatchObject({ note: "big text", qty: 7 });
  });
});

describe("jsonValue", () => {
  test("keeps a float -0 as -0, alone and inside arrays; everything else as JSON.stringify", () => {
    expect(jsonValue(-0)).toBe("-0");
    expect(jsonValue(0)).toBe("0");
    expect(jsonValue([1.5, -0, null])).toBe("[1.5,-0,null]");
    expect(jsonValue([[-0], [2]])).toBe("[[-0],[2]]");
    expect(jsonValue({ a: 1 })).toBe('{"a":1}');
    expect(jsonValue("x")).toBe('"x"');
  });
});
