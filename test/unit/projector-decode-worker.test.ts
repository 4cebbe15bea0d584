import { afterAll, describe, expect, test } from "vitest";
import { BatchDecoder } from "../../src/projector/batch-decode.js";
import { DecodeWorker } from "../../src/projector/decode-worker.js";
import { createLogger } from "../../src/shared/logger.js";

const row = {
  type: "struct",
  optional: true,
  fields: [
    { type: "int64", optional: false, field: "id" },
    { type: "string", optional: true, field: "note" },
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
const source = (lsn: number) => ({ schema: "s", table: "t", lsn, ts_us: 1700000000000001 });
const msg = (payload: unknown) => Buffer.from(JSON.stringify({ schema: valueSchema, payload }));
const key = (id: number) => Buffer.from(JSON.stringify({ schema: keySchema, payload: { id } }));

const messages = [
  { value: msg({ before: null, after: { id: 1, note: "one" }, source: source(100), op: "c" }), key: key(1) },
  { value: Buffer.from("this is not json {"), key: key(2) },
  { value: msg({ before: null, after: { id: 1, note: "uno" }, source: source(200), op: "u" }), key: key(1) },
  {
    value: msg({ before: null, after: { id: 3, note: "__debezium_unavailable_value" }, source: source(300), op: "u" }),
    key: key(3),
  },
  { value: null, key: key(1) },
];

describe("batch decoding in the decode worker", () => {
  const worker = new DecodeWorker(createLogger("silent"));
  afterAll(() => worker.close());

  test("the worker thread answers exactly what the in-thread decoder does", async () => {
    const inThread = new BatchDecoder().decode(
      messages.map((m) => m.value),
      messages.map((m) => m.key),
    );
    const viaWorker = await worker.decode(messages);
    expect(viaWorker).toEqual(inThread);
    expect(viaWorker.opCounts).toEqual({ c: 1, u: 2, tombstone: 1 });
    expect(viaWorker.maxLsn).toBe(300n);
    expect(viaWorker.poison).toEqual([{ index: 1, kind: "not-json", reason: expect.stringContaining("not JSON") }]);
    const t = viaWorker.tables[0];
    expect(t?.target).toBe("s__t");
    // The latest row per key, as a JSON line; the TOAST placeholder left out for the sink to fill.
    expect(
      t?.rows.map((r) => ({ index: r.index, line: r.line && JSON.parse(r.line).note, un: r.unavailable })),
    ).toEqual([
      { index: 2, line: "uno", un: [] },
      { index: 3, line: undefined, un: ["note"] },
    ]);
    expect(t?.rows[1]?.values).not.toHaveProperty("note");
  });

  test("batches decode in order; an empty one too", async () => {
    const [a, b] = await Promise.all([worker.decode(messages.slice(0, 1)), worker.decode([])]);
    expect(a.tables[0]?.rows).toHaveLength(1);
    expect(b.tables).toEqual([]);
  });
});
