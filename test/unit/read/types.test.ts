import { describe, expect, it } from "vitest";
import { checkValue, parseColumnType, toUtcDateTime64 } from "../../../src/read/types.js";

describe("parseColumnType", () => {
  it("unwraps Nullable/LowCardinality and rebuilds a canonical bind type", () => {
    expect(parseColumnType("LowCardinality(Nullable(String))")).toMatchObject({
      family: "string",
      bindType: "String",
      nullable: true,
    });
    expect(parseColumnType("Decimal(14, 2)")).toMatchObject({
      family: "decimal",
      bindType: "Decimal(14, 2)",
      precision: 14,
      scale: 2,
    });
    expect(parseColumnType("Decimal64(4)")).toMatchObject({ bindType: "Decimal(18, 4)" });
    expect(parseColumnType("DateTime64(3, 'Europe/Berlin')")).toMatchObject({
      family: "datetime",
      bindType: "DateTime64(6, 'UTC')",
    });
    expect(parseColumnType("UInt64")).toMatchObject({ family: "uint", bindType: "UInt64", bits: 64 });
    expect(parseColumnType("Enum8('a' = 1, 'b' = 2)")).toMatchObject({ family: "enum", bindType: "String" });
    expect(parseColumnType("Array(Int32)")).toEqual({ family: "other", nullable: false });
    expect(parseColumnType("Variant(Array(String))").bindType).toBeUndefined();
  });
});

describe("checkValue", () => {
  it("checks integers against their width", () => {
    expect(checkValue(parseColumnType("Int32"), "-2147483648")).toEqual({ ok: true, value: "-2147483648" });
    expect(checkValue(parseColumnType("Int32"), "2147483648").ok).toBe(false);
    expect(checkValue(parseColumnType("UInt8"), "-1").ok).toBe(false);
    expect(checkValue(parseColumnType("Int64"), "1 OR 1=1").ok).toBe(false);
  });
  it("checks decimals, uuids, bools, strings", () => {
    expect(checkValue(parseColumnType("Decimal(4, 2)"), "99.99")).toEqual({ ok: true, value: "99.99" });
    expect(checkValue(parseColumnType("Decimal(4, 2)"), "100.00").ok).toBe(false);
    expect(checkValue(parseColumnType("UUID"), "6F1C2E1A-8A52-4D9E-9A57-2F2F4B0F3C11")).toEqual({
      ok: true,
      value: "6f1c2e1a-8a52-4d9e-9a57-2f2f4b0f3c11",
    });
    expect(checkValue(parseColumnType("Bool"), "TRUE")).toEqual({ ok: true, value: "true" });
    expect(checkValue(parseColumnType("String"), "a'b\\c;--ü😀")).toEqual({ ok: true, value: "a'b\\c;--ü😀" });
    expect(checkValue(parseColumnType("String"), "a\u0000b").ok).toBe(false);
    expect(checkValue(parseColumnType("String"), "x".repeat(5000)).ok).toBe(false);
  });
  it("turns ISO 8601 into UTC DateTime64 text, keeping microseconds", () => {
    expect(toUtcDateTime64("2024-05-01T12:00:00Z")).toBe("2024-05-01 12:00:00.000000");
    expect(toUtcDateTime64("2024-05-01T12:00:00.123456789+02:00")).toBe("2024-05-01 10:00:00.123456");
    expect(toUtcDateTime64("2024-05-01")).toBe("2024-05-01 00:00:00.000000");
    expect(toUtcDateTime64("2024-02-30")).toBeUndefined();
    expect(toUtcDateTime64("2024-05-01T25:00:00Z")).toBeUndefined();
    expect(toUtcDateTime64("0001-01-01")).toBeUndefined();
    expect(toUtcDateTime64("now()")).toBeUndefined();
  });
});
