import { afterAll, describe, expect, test } from "vitest";
import { BatchDecoder, type DecodedTable } from "../../src/projector/batch-decode.js";
import { DecodeWorker, packMessages, unpackMessages } from "../../src/projector/decode-worker.js";
import { RowLines } from "../../src/projector/row-lines.js";
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

/** A decoded table's lines as parsed rows, each with its message's position. */
const linesOf = (t: DecodedTable | undefined) =>
  t
    ? new RowLines(Buffer.from(t.lines.body), t.lines.indexes)
        .lines()
        .map((l, i) => ({ index: t.lines.indexes[i], row: JSON.parse(l) as Record<string, unknown> }))
    : [];

describe("batch decoding in the decode worker", () => {
  const worker = new DecodeWorker(createLogger("silent"));
  afterAll(() => worker.close());

  test("the worker thread answers exactly what the in-thread decoder does", async () => {
    const inThread = new BatchDecoder().decode(
      messages.map((m) => m.value),
      messages.map((m) => m.key),
    );
    const viaWorker = await worker.decode(messages);
    // The same, the rows' bytes aside (a Buffer here, a transferred Uint8Array from the thread).
    const plain = (b: typeof inThread) =>
      b.tables.map((t) => ({ ...t, lines: { body: [...t.lines.body], indexes: [...t.lines.indexes] } }));
    expect({ ...viaWorker, tables: plain(viaWorker) }).toEqual({ ...inThread, tables: plain(inThread) });
    expect(viaWorker.opCounts).toEqual({ c: 1, u: 2, tombstone: 1 });
    expect(viaWorker.maxLsn).toBe(300n);
    expect(viaWorker.poison).toEqual([{ index: 1, kind: "not-json", reason: expect.stringContaining("not JSON") }]);
    const t = viaWorker.tables[0];
    expect(t?.target).toBe("s__t");
    // The latest row per key, as a JSON line; the TOAST placeholder left out for the sink to fill.
    expect(linesOf(t).map((r) => ({ index: r.index, note: r.row.note }))).toEqual([{ index: 2, note: "uno" }]);
    expect(t?.toast.map((r) => ({ index: r.index, un: r.unavailable }))).toEqual([{ index: 3, un: ["note"] }]);
    expect(t?.toast[0]?.values).not.toHaveProperty("note");
    expect(t?.maxLsn).toBe(300n);
  });

  test("batches decode in order; an empty one too", async () => {
    const [a, b] = await Promise.all([worker.decode(messages.slice(0, 1)), worker.decode([])]);
    expect(linesOf(a.tables[0])).toHaveLength(1);
    expect(b.tables).toEqual([]);
  });
});

describe("messages whose schemas are named by id (headers)", () => {
  const worker = new DecodeWorker(createLogger("silent"));
  afterAll(() => worker.close());
  const texts = new Map([
    ["v1", JSON.stringify(valueSchema)],
    ["k1", JSON.stringify(keySchema)],
  ]);
  const named = (payload: unknown, id: number, valueId = "v1") => ({
    value: Buffer.from(JSON.stringify(payload)),
    key: Buffer.from(JSON.stringify({ id })),
    headers: { "sidecar.schema": Buffer.from(valueId), "sidecar.key.schema": Buffer.from("k1") },
  });

  test("decode to the same rows as the inline form; the thread gets the texts it needs", async () => {
    const asked: string[][] = [];
    const lookup = async (ids: Set<string>) => {
      asked.push([...ids].sort());
      return new Map([...ids].flatMap((id) => (texts.has(id) ? [[id, texts.get(id) as string] as const] : [])));
    };
    const batch = await worker.decode(
      [
        named({ before: null, after: { id: 1, note: "one" }, source: source(100), op: "c" }, 1),
        named({ before: null, after: { id: 1, note: "uno" }, source: source(200), op: "u" }, 1),
      ],
      lookup,
    );
    expect(asked).toEqual([["k1", "v1"]]);
    expect(linesOf(batch.tables[0]).map((r) => r.row.note)).toEqual(["uno"]);
    expect(batch.poison).toEqual([]);
  });

  test("a message naming a schema the topic does not hold is poison, the others are decoded", async () => {
    const batch = await worker.decode(
      [
        named({ before: null, after: { id: 4, note: "x" }, source: source(400), op: "c" }, 4, "gone"),
        named({ before: null, after: { id: 5, note: "y" }, source: source(500), op: "c" }, 5),
      ],
      async (ids) => new Map([...ids].filter((id) => texts.has(id)).map((id) => [id, texts.get(id) as string])),
    );
    expect(batch.poison.map((p) => [p.index, p.reason])).toEqual([
      [0, expect.stringMatching(/schema gone named by the message is not in the schema topic/)],
    ]);
    expect(linesOf(batch.tables[0])).toHaveLength(1);
  });
});

describe("packMessages / unpackMessages", () => {
  test("values, keys and schema ids cross as one buffer; each distinct id once", () => {
    const h = (v: string, k?: string) => ({
      "sidecar.schema": Buffer.from(v),
      ...(k === undefined ? {} : { "sidecar.key.schema": Buffer.from(k) }),
    });
    const msgs = [
      { value: Buffer.from("a1"), key: Buffer.from("k1"), headers: h("v1", "k1") },
      { value: Buffer.from("a2"), key: null, headers: h("v1", "k1") },
      { value: null, key: Buffer.from("k3"), headers: h("v2") },
      { value: Buffer.from(""), key: Buffer.from("k4"), headers: undefined },
      {
        value: Buffer.from("a5é"),
        key: Buffer.from("k5"),
        headers: { "sidecar.schema": "v2", "sidecar.key.schema": ["k1"] },
      },
    ];
    const packed = packMessages(msgs);
    expect(packed.ids).toEqual(["v1", "k1", "v2"]);
    const { values, keys, named } = unpackMessages({ bytes: packed.bytes, index: packed.index });
    expect(values.map((v) => v?.toString() ?? null)).toEqual(["a1", "a2", null, "", "a5é"]);
    expect(keys.map((k) => k?.toString() ?? null)).toEqual(["k1", null, "k3", "k4", "k5"]);
    expect(named).toBeUndefined(); // no texts were sent: the inline-schema path
    const withTexts = unpackMessages({ ...packed, ids: { ids: packed.ids, texts: { v1: "{}" } } });
    expect(withTexts.named?.valueIds).toEqual(["v1", "v1", "v2", null, "v2"]);
    expect(withTexts.named?.keyIds).toEqual(["k1", "k1", null, null, "k1"]);
    expect(withTexts.named?.texts).toEqual({ v1: "{}" });
  });
});
