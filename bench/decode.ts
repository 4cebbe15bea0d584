/**
 * The projector's JavaScript decode alone (envelope JSON → converted, folded JSON lines), no
 * Kafka and no ClickHouse: CPU µs per row of BatchDecoder.decode on messages shaped like the
 * projector benchmark's table, as the sidecar's converter writes them (schema named by id).
 * Used to tell the decode's share of the projector's CPU per row (docs/performance.md).
 *
 *   node --import tsx bench/decode.ts [--rows 160000]
 */
import { parseArgs } from "node:util";
import { BatchDecoder } from "../src/projector/batch-decode.js";

const { values: args } = parseArgs({ options: { rows: { type: "string", default: "160000" } } });
const N = Number(args.rows);
const B = 8000;
const f = (type: string, field: string, extra: Record<string, unknown> = {}) => ({
  type,
  optional: field !== "id",
  field,
  ...extra,
});
const row = {
  type: "struct",
  optional: true,
  name: "x.Value",
  fields: [
    f("int64", "id"),
    f("string", "sku"),
    f("string", "name"),
    f("string", "price", {
      parameters: {
        "__debezium.source.column.type": "NUMERIC",
        "__debezium.source.column.length": "12",
        "__debezium.source.column.scale": "2",
      },
    }),
    f("int32", "qty"),
    f("string", "created_at", { name: "io.debezium.time.ZonedTimestamp" }),
    f("string", "customer", { name: "io.debezium.data.Uuid" }),
    { type: "array", optional: true, items: { type: "string", optional: true }, field: "tags" },
    f("boolean", "active"),
  ],
};
const valueSchema = {
  type: "struct",
  fields: [
    { ...row, field: "before" },
    { ...row, field: "after" },
    { type: "struct", field: "source", fields: [] },
    { type: "string", field: "op" },
  ],
};
const keySchema = { type: "struct", fields: [{ type: "int64", optional: false, field: "id" }] };
const values: Buffer[] = [],
  keys: Buffer[] = [];
for (let g = 1; g <= N; g++) {
  const lsn = 26781184 + g * 100;
  const after = {
    id: g,
    sku: `SKU-${g}`,
    name: `item number ${g}`,
    price: ((g % 100000) / 100).toFixed(2),
    qty: g % 1000,
    created_at: `2024-01-01T00:${String(g % 60).padStart(2, "0")}:01.${String(g % 999983).padStart(6, "0")}Z`,
    customer: "c4ca4238-a0b9-2382-0dcc-509a6f75849b",
    tags: [`t${g % 7}`, "x"],
    active: g % 2 === 0,
  };
  values.push(
    Buffer.from(
      JSON.stringify({
        before: null,
        after,
        // As connectors/shop.json's source block writes it (stack/source-info).
        source: {
          ts_ms: 1795966266020,
          ts_us: 1795966266020000,
          snapshot: null,
          schema: "b_x",
          table: "items",
          txId: 123 + g,
          lsn,
          xmin: null,
          sequence: null,
        },
        transaction: null,
        op: "c",
        ts_ms: 1795966266021,
        ts_us: 1795966266021000,
        ts_ns: 1795966266021000000,
      }),
    ),
  );
  keys.push(Buffer.from(JSON.stringify({ id: g })));
}
const texts = { v1: JSON.stringify(valueSchema), k1: JSON.stringify(keySchema) };
for (let round = 0; round < 4; round++) {
  const d = new BatchDecoder();
  const c0 = process.cpuUsage();
  let rows = 0;
  for (let i = 0; i < N; i += B) {
    const n = Math.min(B, N - i);
    const out = d.decode(values.slice(i, i + n), keys.slice(i, i + n), {
      valueIds: new Array(n).fill("v1"),
      keyIds: new Array(n).fill("k1"),
      texts,
    });
    rows += (out.tables[0]?.lines.indexes.length ?? 0) + (out.tables[0]?.toast.length ?? 0);
    if (out.poison.length) throw new Error(JSON.stringify(out.poison[0]));
  }
  const c = process.cpuUsage(c0);
  console.log(`round ${round + 1}: decode ${((c.user + c.system) / N).toFixed(2)} µs/row (${rows} rows)`);
}
