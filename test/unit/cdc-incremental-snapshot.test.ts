import { describe, expect, test } from "vitest";
import { decodeChangeEvent, SchemaCache } from "../../src/cdc/decode.js";
import { incrementalSnapshotLsn, toChangeEvent } from "../../src/cdc/envelope.js";

// The source block of a real incremental snapshot read (attach --add), Debezium 3.6.
const source = {
  version: "3.6.1.Final",
  connector: "postgresql",
  name: "at_x",
  ts_ms: 1795724020755,
  snapshot: "incremental",
  db: "shop",
  sequence: '["1569869896","1569869897"]',
  ts_us: 1795724020755992,
  schema: "billing",
  table: "refunds",
  txId: null,
  lsn: null,
};
const rowSchema = {
  type: "struct",
  optional: true,
  field: "after",
  fields: [{ type: "int32", optional: false, field: "id" }],
};
const value = {
  schema: {
    type: "struct",
    fields: [{ ...rowSchema, field: "before" }, rowSchema, { type: "struct", field: "source", fields: [] }],
  },
  payload: { before: null, after: { id: 1 }, source, op: "r", ts_ms: 1 },
};
const key = {
  schema: { type: "struct", fields: [{ type: "int32", optional: false, field: "id" }] },
  payload: { id: 1 },
};

describe("incremental snapshot reads (no source.lsn)", () => {
  test("take the stream position of source.sequence as their LSN", () => {
    const ev = decodeChangeEvent(
      Buffer.from(JSON.stringify(value)),
      Buffer.from(JSON.stringify(key)),
      new SchemaCache(),
    );
    expect(ev.lsn).toBe(1569869897n);
    expect(ev.op).toBe("r");
    expect(ev.snapshot).toBe(true);
    expect(toChangeEvent(value, key).lsn).toBe(1569869897n);
  });
  test("the sidecar's source block (stack/source-info) decodes the same: sequence only where lsn is null", () => {
    const lean = { ts_ms: 1795724020755, ts_us: 1795724020755992, snapshot: "incremental", schema: "billing" };
    const read = { ...lean, table: "refunds", txId: null, lsn: null, xmin: null, sequence: source.sequence };
    const streamed = {
      ...lean,
      snapshot: null,
      table: "refunds",
      txId: 9,
      lsn: 1569869990,
      xmin: null,
      sequence: null,
    };
    const decode = (src: unknown) =>
      decodeChangeEvent(
        Buffer.from(JSON.stringify({ ...value, payload: { ...value.payload, source: src } })),
        Buffer.from(JSON.stringify(key)),
        new SchemaCache(),
      );
    expect(decode(read)).toMatchObject({ lsn: 1569869897n, snapshot: true, schema: "billing", table: "refunds" });
    expect(decode(streamed)).toMatchObject({ lsn: 1569869990n, snapshot: false, commitTsUs: 1795724020755992n });
  });
  test("an event with neither lsn nor sequence is still refused", () => {
    expect(() => incrementalSnapshotLsn(null, null)).toThrow(/source.lsn is not an integer/);
    expect(() => incrementalSnapshotLsn(null, "[null]")).toThrow(/source.lsn is not an integer/);
    expect(incrementalSnapshotLsn(null, '["5",null]')).toBe(5n);
    expect(incrementalSnapshotLsn(7n, '["5","6"]')).toBe(7n);
  });
});
