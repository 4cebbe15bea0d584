import { describe, expect, test } from "vitest";
import { decodeChangeEvent, SchemaCache } from "../../src/cdc/decode.js";
import { EnvelopeError } from "../../src/cdc/envelope.js";

const row = {
  type: "struct",
  optional: true,
  fields: [
    { type: "int64", optional: false, field: "id" },
    { type: "string", optional: true, field: "note", parameters: { allowed: 'a,"payload":b' } },
  ],
};
const valueSchema = {
  type: "struct",
  fields: [
    { ...row, field: "before" },
    { ...row, field: "after" },
  ],
};
const keySchema = { type: "struct", fields: [{ type: "int64", optional: false, field: "id" }] };
const source = {
  schema: "s",
  table: "t",
  lsn: 100,
  ts_ms: 1700000000000,
  ts_us: 1700000000000001,
  ts_ns: 1700000000000001000,
};

const msg = (payload: unknown, schema: unknown = valueSchema) => Buffer.from(JSON.stringify({ schema, payload }));
const key = (id: number | string) => Buffer.from(`{"schema":${JSON.stringify(keySchema)},"payload":{"id":${id}}}`);

describe("decoding with the schema cache", () => {
  test("the second message with the same schema takes the cached schema; values are identical", () => {
    const cache = new SchemaCache();
    const a = decodeChangeEvent(
      msg({ before: null, after: { id: 1, note: ',"payload":x' }, source, op: "c" }),
      key(1),
      cache,
    );
    const b = decodeChangeEvent(
      msg({ before: null, after: { id: 2, note: "y" }, source: { ...source, lsn: 101 }, op: "c" }),
      key(2),
      cache,
    );
    expect(a.valueSchemaId).toBeGreaterThan(0);
    expect(b.valueSchemaId).toBe(a.valueSchemaId);
    expect(b.keySchemaId).toBe(a.keySchemaId);
    expect(a.after).toEqual({ id: 1, note: ',"payload":x' });
    expect(b).toMatchObject({
      op: "c",
      schema: "s",
      table: "t",
      lsn: 101n,
      commitTsUs: 1700000000000001n,
      after: { id: 2, note: "y" },
    });
    expect(b.key?.payload).toEqual({ id: 2 });
  });

  test("a different schema gets its own entry", () => {
    const cache = new SchemaCache();
    const a = decodeChangeEvent(msg({ after: { id: 1 }, source, op: "c" }), key(1), cache);
    const other = { ...valueSchema, name: "v2" };
    const b = decodeChangeEvent(msg({ after: { id: 1 }, source, op: "c" }, other), key(1), cache);
    expect(b.valueSchemaId).not.toBe(a.valueSchemaId);
  });

  test("64-bit integers past 2^53 stay exact in values and keys", () => {
    const cache = new SchemaCache();
    const value = Buffer.from(
      `{"schema":${JSON.stringify(valueSchema)},"payload":{"before":null,"after":{"id":9223372036854775807,"note":null},"source":{"schema":"s","table":"t","lsn":100,"ts_ms":1,"ts_ns":1700000000000001000},"op":"c"}}`,
    );
    const ev = decodeChangeEvent(value, key("9223372036854775807"), cache);
    expect(ev.after?.id).toBe("9223372036854775807");
    expect(ev.key?.payload.id).toBe("9223372036854775807");
    const again = decodeChangeEvent(value, key("-9223372036854775808"), cache);
    expect(again.key?.payload.id).toBe("-9223372036854775808");
  });

  test("poison: not JSON, not an envelope, bad op", () => {
    const cache = new SchemaCache();
    expect(() => decodeChangeEvent(Buffer.from("nope {"), null, cache)).toThrow(/value is not JSON/);
    expect(() => decodeChangeEvent(Buffer.from('{"hello":"world"}'), null, cache)).toThrow(EnvelopeError);
    expect(() => decodeChangeEvent(msg({ after: {}, source, op: "x" }), null, cache)).toThrow(/op/);
    expect(() =>
      decodeChangeEvent(msg({ after: {}, source: { ...source, lsn: "abc" }, op: "c" }), null, cache),
    ).toThrow(/lsn/);
    // A known schema followed by a broken payload is still caught.
    decodeChangeEvent(msg({ after: { id: 1 }, source, op: "c" }), null, cache);
    const broken = Buffer.from(`{"schema":${JSON.stringify(valueSchema)},"payload":{"after":}`);
    expect(() => decodeChangeEvent(broken, null, cache)).toThrow(/not JSON/);
  });
});
