import { describe, expect, test } from "vitest";
import { decodeChangeEvent, SchemaCache, SchemasById } from "../../src/cdc/decode.js";
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

describe("decoding messages whose schemas are named by id (stack/converter)", () => {
  const byId = new SchemasById();
  const named = () => ({
    value: byId.get("v1", JSON.stringify(valueSchema)),
    key: byId.get("k1", JSON.stringify(keySchema)),
  });

  test("the payload alone decodes to the same event as the inline form", () => {
    const payload = { before: null, after: { id: 7, note: "n" }, source, op: "c" };
    const inline = decodeChangeEvent(msg(payload), key(7), new SchemaCache());
    const byName = decodeChangeEvent(
      Buffer.from(JSON.stringify(payload)),
      Buffer.from('{"id":7}'),
      new SchemaCache(),
      named(),
    );
    const { valueSchemaId: _a, keySchemaId: _b, ...rest } = inline;
    expect(byName).toMatchObject(rest);
    expect(byName.valueSchemaId).toBeGreaterThanOrEqual(1_000_000_000); // never mixed with inline ids
  });

  test("an id is parsed once; an unknown id without its text, or text that is not a schema, is undefined", () => {
    expect(byId.get("v1", undefined)).toBe(byId.get("v1", "ignored"));
    expect(byId.get("nope", undefined)).toBeUndefined();
    expect(byId.get("bad", "{not json")).toBeUndefined();
    expect(byId.get("bad2", '{"fields": 3}')).toBeUndefined();
  });

  test("64-bit integers past 2^53 in a named payload keep every digit", () => {
    const text = `{"before":null,"after":{"id":9007199254740993,"note":null},"source":${JSON.stringify(source)},"op":"c"}`;
    const ev = decodeChangeEvent(Buffer.from(text), Buffer.from('{"id":9007199254740993}'), new SchemaCache(), named());
    expect(String(ev.after?.id)).toBe("9007199254740993");
  });

  test("a named key is parsed only when read (a delete): a bad one is an envelope error then", () => {
    const bad = Buffer.from("{not json");
    const insert = { before: null, after: { id: 7, note: "n" }, source, op: "c" };
    const ev = decodeChangeEvent(Buffer.from(JSON.stringify(insert)), bad, new SchemaCache(), named());
    expect(ev.after?.id).toBe(7);
    expect(() => ev.key?.payload).toThrow(EnvelopeError);
    const del = { before: null, after: null, source, op: "d" };
    const gone = decodeChangeEvent(
      Buffer.from(JSON.stringify(del)),
      Buffer.from('{"id":7}'),
      new SchemaCache(),
      named(),
    );
    expect(gone.key?.payload).toEqual({ id: 7 });
    expect(gone.key?.schema).toEqual(keySchema);
  });

  test("a named payload that is not JSON is a not-json error", () => {
    expect(() => decodeChangeEvent(Buffer.from("{oops"), null, new SchemaCache(), named())).toThrow(EnvelopeError);
  });
});
