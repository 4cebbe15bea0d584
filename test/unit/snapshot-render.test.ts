import { describe, expect, it } from "vitest";
import type { CatalogColumn, CatalogTable } from "../../src/attach/catalog.js";
import { blockRanges } from "../../src/snapshot/copy.js";
import { copyStatement, renderColumn, renderTable } from "../../src/snapshot/render.js";

const col = (name: string, baseType: string, extra: Partial<CatalogColumn> = {}): CatalogColumn => ({
  name,
  notNull: false,
  typeName: baseType,
  baseType,
  baseKind: "b",
  typmod: -1,
  formatted: baseType,
  ownKind: "b",
  typeSchema: "pg_catalog",
  generated: false,
  ...extra,
});

const table = (columns: CatalogColumn[]): CatalogTable => ({
  ref: { schema: "s", table: "t" },
  columns,
  generatedColumns: [],
  primaryKey: ["id"],
  rowSchema: { type: "struct", fields: [] },
  keySchema: undefined,
});

describe("snapshot SELECT rendering (mirrors src/cdc/types.ts)", () => {
  it("renders each type family in the projector's form", () => {
    expect(renderColumn(col("a", "int8"))?.expr).toBe('"a"');
    expect(renderColumn(col("a", "bpchar"))?.expr).toBe('"a"'); // a cast to text would trim char(n)
    expect(renderColumn(col("a", "jsonb"))?.expr).toBe('"a"::text');
    expect(renderColumn(col("a", "bytea"))?.expr).toBe(`encode("a", 'hex')`);
    expect(renderColumn(col("a", "timestamptz"))?.expr).toBe(`("a" AT TIME ZONE 'UTC')::text`);
    expect(renderColumn(col("a", "bit", { typmod: 1 }))?.expr).toBe(`("a" = B'1')`);
    expect(renderColumn(col("a", "float8"))?.expr).toContain("'nan'");
    expect(renderColumn(col("a", "x", { baseKind: "e" }))?.expr).toBe('"a"::text');
  });

  it("refuses what ClickHouse cannot hold, only for Decimal numerics", () => {
    const decimal = col("p", "numeric", { typmod: ((12 << 16) | 2) + 4 });
    expect(renderColumn(decimal)?.refuse).toContain("'NaN'");
    expect(renderColumn(col("p", "numeric"))?.refuse).toBeUndefined(); // plain numeric is text: NaN kept
    expect(renderColumn(col("d", "date"))?.refuse).toContain("'1900-01-01'");
  });

  it("leaves unsupported types and meta-name clashes to Debezium", () => {
    expect(renderColumn(col("a", "timetz"))).toBeUndefined();
    expect(renderColumn(col("a", "_numeric", { elemType: "numeric", elemKind: "b" }))).toBeUndefined();
    const r = renderTable(table([col("id", "int4"), col("_version", "int4"), col("z", "money")]), {
      version: 1n,
      lsn: 2n,
      commitTs: "2024-01-01 00:00:00.000000",
    });
    expect(r).toEqual({ unsupported: ["_version", "z"] });
  });

  it("builds one JSON line per row with the meta columns, refused rows filtered", () => {
    const r = renderTable(table([col("id", "int4"), col("d", "date")]), {
      version: 7n,
      lsn: 9n,
      commitTs: "2024-01-01 00:00:00.000000",
    });
    if ("unsupported" in r) throw new Error("unexpected");
    const sql = r.select({ schema: "s", table: "t_1" }, "ctid >= '(0,0)'::tid");
    expect(sql).toContain(`'7'::text AS _version, '9'::text AS _lsn`);
    expect(sql).toContain(`FROM ONLY "s"."t_1" WHERE NOT coalesce(`);
    expect(sql).toContain("AND ctid >= '(0,0)'::tid");
    expect(copyStatement(sql)).toMatch(/^COPY \(SELECT row_to_json\(r\)::text .* TO STDOUT WITH \(FORMAT csv/);
  });

  it("splits big leaves into block ranges, the last one open-ended", () => {
    expect(blockRanges(100, 8)).toEqual([undefined]);
    const ranges = blockRanges(100_000, 8);
    expect(ranges).toHaveLength(8);
    expect(ranges[0]).toBe("ctid >= '(0,0)'::tid AND ctid < '(12500,0)'::tid");
    expect(ranges[7]).toBe("ctid >= '(87500,0)'::tid");
  });
});
