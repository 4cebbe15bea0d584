import { describe, expect, test } from "vitest";
import { EnvelopeError, toChangeEvent } from "../../src/cdc/envelope.js";
import { parseJsonExact } from "../../src/cdc/json.js";
import { tableShape, targetTableName } from "../../src/cdc/table.js";
import { ConversionError } from "../../src/cdc/types.js";

const rowSchema = {
  type: "struct",
  optional: true,
  field: "after",
  fields: [
    { type: "int64", optional: false, field: "id" },
    { type: "string", optional: true, field: "name" },
  ],
};
const message = (payload: Record<string, unknown>) => ({
  schema: { type: "struct", fields: [{ ...rowSchema, field: "before" }, rowSchema] },
  payload,
});
const source = {
  schema: "shop",
  table: "t",
  lsn: 26781184,
  ts_ms: 1700000000000,
  ts_us: 1700000000123456,
  snapshot: "false",
};
const key = {
  schema: { type: "struct", fields: [{ type: "int64", optional: false, field: "id" }] },
  payload: { id: 1 },
};

describe("JSON with exact 64-bit integers", () => {
  test("big integers outside strings become strings; floats, strings and small numbers are untouched", () => {
    expect(
      parseJsonExact(
        '{"a":9223372036854775807,"b":-9223372036854775808,"c":1.2345678901234567,"d":"12345678901234567890","e":5}',
      ),
    ).toEqual({
      a: "9223372036854775807",
      b: "-9223372036854775808",
      c: 1.2345678901234567,
      d: "12345678901234567890",
      e: 5,
    });
    expect(parseJsonExact('{"s":"x\\"1234567890123456789"}')).toEqual({ s: 'x"1234567890123456789' });
  });
});

describe("envelope parsing", () => {
  test("a create event", () => {
    const ev = toChangeEvent(message({ before: null, after: { id: 1, name: "a" }, source, op: "c" }), key);
    expect(ev).toMatchObject({
      op: "c",
      schema: "shop",
      table: "t",
      lsn: 26781184n,
      commitTsUs: 1700000000123456n,
      snapshot: false,
    });
    expect(ev.rowSchema?.fields?.map((f) => f.field)).toEqual(["id", "name"]);
    expect(ev.key?.payload).toEqual({ id: 1 });
  });
  test("snapshot flag and ts_ms fallback", () => {
    const { ts_us: _drop, ...noUs } = source;
    const ev = toChangeEvent(
      message({ before: null, after: { id: 1, name: null }, source: { ...noUs, snapshot: "first" }, op: "r" }),
      key,
    );
    expect(ev.snapshot).toBe(true);
    expect(ev.commitTsUs).toBe(1700000000000000n);
  });
  test("a truncate event has no key", () => {
    const ev = toChangeEvent(message({ before: null, after: null, source, op: "t" }), null);
    expect(ev.op).toBe("t");
    expect(ev.key).toBeUndefined();
  });
  test("not an envelope", () => {
    expect(() => toChangeEvent({ hello: "world" }, null)).toThrow(EnvelopeError);
    expect(() => toChangeEvent(message({ after: {}, source, op: "x" }), null)).toThrow(/op/);
    expect(() => toChangeEvent(message({ after: {}, source: { ...source, lsn: "abc" }, op: "c" }), null)).toThrow(
      EnvelopeError,
    );
  });
});

describe("table shape", () => {
  test("keys from the key schema, target name <schema>__<table>", () => {
    const shape = tableShape("shop", "order_lines", rowSchema, key.schema);
    expect(shape.target).toBe("shop__order_lines");
    expect(shape.keys).toEqual(["id"]);
    expect(shape.columns.map((c) => [c.name, c.type.sql, c.key])).toEqual([
      ["id", "Int64", true],
      ["name", "Nullable(String)", false],
    ]);
  });
  test("a table without a primary key is refused", () => {
    expect(() => tableShape("shop", "t", rowSchema, undefined)).toThrow(ConversionError);
  });
  test("odd characters stay out of target names", () => {
    expect(targetTableName("My-Schema", "a.b")).toBe("My_Schema__a_b");
  });
});
