import { describe, expect, test } from "vitest";
import {
  canonical,
  compareKeys,
  normDecimal,
  normGeometric,
  normHstore,
  normTime,
  normTimestamp,
  normTimetz,
} from "../../src/attach/canonical.js";
import { type CatalogColumn, debeziumField } from "../../src/attach/catalog.js";
import { formatVerifyReport, readApiError } from "../../src/attach/verify.js";
import { columnType } from "../../src/cdc/types.js";

const col = (c: Partial<CatalogColumn>): CatalogColumn => ({
  name: "c",
  notNull: false,
  typeName: c.baseType ?? "text",
  baseType: "text",
  baseKind: "b",
  typmod: -1,
  formatted: "text",
  ownKind: c.baseKind ?? "b",
  typeSchema: "pg_catalog",
  generated: false,
  ...c,
});
const chType = (c: Partial<CatalogColumn>, key = false) => columnType(debeziumField(col(c), { key }), { key }).sql;

describe("catalog column → the projector's ClickHouse type", () => {
  test.each([
    [{ baseType: "int8" }, "Nullable(Int64)"],
    [{ baseType: "numeric", typmod: ((14 << 16) | 2) + 4 }, "Nullable(Decimal(14, 2))"],
    [{ baseType: "numeric" }, "Nullable(String)"],
    [{ baseType: "timestamptz" }, "Nullable(DateTime64(6, 'UTC'))"],
    [{ baseType: "timestamp", typmod: 3 }, "Nullable(DateTime64(3, 'UTC'))"],
    [{ baseType: "time" }, "Nullable(Time64(6))"],
    [{ baseType: "date", notNull: true }, "Date32"],
    [{ baseType: "uuid" }, "Nullable(UUID)"],
    [{ baseType: "bytea" }, "Nullable(String)"],
    [{ baseType: "status", typeName: "status", baseKind: "e" }, "LowCardinality(Nullable(String))"],
    [
      { baseType: "_int4", typeName: "_int4", elemType: "int4", elemKind: "b", notNull: true },
      "Array(Nullable(Int32))",
    ],
    [{ baseType: "_text", typeName: "_text", elemType: "text", elemKind: "b" }, "Variant(Array(Nullable(String)))"],
    [{ baseType: "jsonb" }, "Nullable(String)"],
    [{ baseType: "bool" }, "Nullable(Bool)"],
    [{ baseType: "float4" }, "Nullable(Float32)"],
    // a domain over numeric(12,2) keeps the domain's name, as Debezium reports it: text in ClickHouse
    [{ baseType: "numeric", typeName: "amount", baseKind: "b", typmod: ((12 << 16) | 2) + 4 }, "Nullable(String)"],
  ])("%j → %s", (c, sql) => expect(chType(c)).toBe(sql));
  test("key columns are never Nullable", () => expect(chType({ baseType: "int4" }, true)).toBe("Int32"));
});

describe("verify's canonical values", () => {
  test("decimals without insignificant zeros", () => {
    expect(normDecimal("12.50")).toBe("12.5");
    expect(normDecimal("12.00")).toBe("12");
    expect(normDecimal("-0.00")).toBe("0");
    expect(normDecimal("007.10")).toBe("7.1");
    expect(normDecimal("NaN")).toBe("NaN");
  });
  test("timestamps from Postgres text, to_json and ClickHouse agree", () => {
    const ch = "2024-01-01 00:00:00.123400";
    expect(normTimestamp("2024-01-01 00:00:00.1234+00")).toBe(ch);
    expect(normTimestamp("2024-01-01T00:00:00.1234+00:00")).toBe(ch);
    expect(normTimestamp(ch)).toBe(ch);
    expect(normTimestamp("2024-01-01 00:00:00")).toBe("2024-01-01 00:00:00.000000");
    expect(normTime("08:00:01.5")).toBe("08:00:01.500000");
  });
  test("per kind", () => {
    expect(canonical("int", "0042")).toBe("42");
    expect(canonical("int", 42)).toBe("42");
    expect(canonical("bool", "t")).toBe("true");
    expect(canonical("bool", true)).toBe("true");
    expect(canonical("bool", "f")).toBe("false");
    expect(canonical("bytea", "\\x00FF")).toBe("00ff");
    expect(canonical("float32", "0.1")).toBe(canonical("float32", 0.1));
    expect(canonical("float64", "1e+100")).toBe(canonical("float64", 1e100));
    expect(canonical("interval", "P0Y0M1DT-2H0M3.5S")).toBe("P1DT-2H3.5S");
    expect(canonical("text", null)).toBeNull();
  });
  test("key order is ClickHouse's: text by bytes, numbers by value, UUIDs by their second half first", () => {
    expect(compareKeys(["text"], ["Zeta"], ["a b"])).toBeLessThan(0);
    expect(compareKeys(["text"], ["sms"], ["ßms"])).toBeLessThan(0);
    expect(compareKeys(["int"], ["9"], ["10"])).toBeLessThan(0);
    expect(compareKeys(["decimal"], ["-1.5"], ["-1.25"])).toBeLessThan(0);
    expect(compareKeys(["int", "text"], ["1", "b"], ["1", "a"])).toBeGreaterThan(0);
    const u = (s: string) => [s];
    expect(
      compareKeys(["uuid"], u("10000000-0000-0000-0000-000000000000"), u("00000000-0000-0000-0000-000000000001")),
    ).toBeLessThan(0);
  });
});

describe("verify's canonical values for the type matrix (a real comparison: a different value stays different)", () => {
  test("floats: Postgres' and ClickHouse's spellings of NaN and ±Infinity agree, and only those", () => {
    expect(canonical("float64", "NaN")).toBe(canonical("float64", "nan"));
    expect(canonical("float64", "-Infinity")).toBe(canonical("float64", "-inf"));
    expect(canonical("float32", "Infinity")).toBe(canonical("float32", "inf"));
    expect(canonical("float64", "Infinity")).not.toBe(canonical("float64", "-inf"));
    expect(canonical("float64", "NaN")).not.toBe(canonical("float64", null));
  });
  test("bit(1) is a Bool in ClickHouse", () => {
    expect(canonical("bit1", "1")).toBe(canonical("bit1", true));
    expect(canonical("bit1", "0")).toBe(canonical("bit1", false));
    expect(canonical("bit1", "1")).not.toBe(canonical("bit1", false));
  });
  test("timetz compares the UTC time Debezium sends; another instant differs", () => {
    expect(normTimetz("12:34:56.789+05:30")).toBe("07:04:56.789000Z");
    expect(normTimetz("07:04:56.789Z")).toBe("07:04:56.789000Z");
    expect(normTimetz("23:59:59-08")).toBe("07:59:59.000000Z");
    expect(normTimetz("12:34:56.789+05")).not.toBe(normTimetz("07:04:56.789Z"));
  });
  test("geometric text: the same floats in either spelling; another number differs", () => {
    expect(normGeometric("{1.0,-1.0,0.0}")).toBe(normGeometric("{1,-1,0}"));
    expect(normGeometric("(1e-07,1e+20)")).toBe(normGeometric("(1e-7,100000000000000000000)"));
    expect(normGeometric("<(0,0),2.5>")).not.toBe(normGeometric("<(0,0),2.50001>"));
  });
  test("hstore text against Debezium's JSON object", () => {
    expect(normHstore('"a"=>"1", "b"=>NULL')).toBe(normHstore('{"b":null,"a":"1"}'));
    expect(normHstore('"x y"=>"\\"q\\""')).toBe(normHstore('{"x y":"\\"q\\""}'));
    expect(normHstore('"a"=>"NULL"')).not.toBe(normHstore('{"a":null}'));
    expect(normHstore("")).toBe(normHstore("{}"));
  });
});

describe("verify's read API errors", () => {
  test("a missing or refused token says how to get one; other errors keep the answer", () => {
    const body = '{"title":"Unauthorized"}';
    expect(readApiError("/api/tables/sales__leads/rows?limit=1", 401, body, false)).toBe(
      'read API /api/tables/sales__leads/rows: 401: no READ_API_TOKEN was set. Set it to the read API\'s token (for the stack make up started: eval "$(make -s token)")',
    );
    expect(readApiError("/api/x", 401, body, true)).toMatch(/READ_API_TOKEN was refused/);
    expect(readApiError("/api/x?y", 500, "boom", true)).toBe("read API /api/x: 500 boom");
  });
});

describe("verify's report", () => {
  const table = (name: string, over: object) => ({
    table: name,
    target: name.replace(".", "__"),
    postgresRows: 2,
    clickhouseRows: 2,
    postgresChecksum: "a",
    clickhouseChecksum: "a",
    missing: 0,
    extra: 0,
    different: 0,
    examples: [],
    ok: true,
    ...over,
  });
  test("a table that could not be read is not compared, and is not called a difference", () => {
    const text = formatVerifyReport({
      ok: false,
      tables: [
        table("s.a", {}),
        table("s.b", { ok: false, problem: "read API /api/tables/s__b/rows: 401: no READ_API_TOKEN was set" }),
        table("s.c", { ok: false, clickhouseRows: 1, clickhouseChecksum: "b", missing: 1 }),
      ],
    });
    expect(text).toMatch(/^FAIL {2}s\.b: not compared: read API .*401/m);
    expect(text).toMatch(/^DIFF {2}s\.c → s__c/m);
    expect(text.split("\n").at(-1)).toBe("verify: differences in 1, 1 not compared of 3 table(s)");
  });
});
