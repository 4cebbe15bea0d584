import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClickHouse, openClickHouse, queryRows } from "../../src/clickhouse/client.js";

/** The one client's JSON, on a real ClickHouse engine (chDB): what every reader of it relies on. */
describe("ClickHouse JSON through the shared client", () => {
  const dir = mkdtempSync(join(tmpdir(), "ch-json-"));
  let ch: ClickHouse;
  beforeAll(async () => {
    ch = await openClickHouse(`chdb:${dir}`);
  });
  afterAll(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("64-bit integers and decimals as strings; NaN and ±Infinity as text, never null", async () => {
    const [row] = await queryRows<Record<string, unknown>>(
      ch,
      "SELECT toInt64('9007199254740993') AS big, toDecimal64('12.50', 2) AS dec, nan AS n, inf AS p, -inf AS m, toFloat64(NULL) AS z",
    );
    expect(row).toEqual({ big: "9007199254740993", dec: "12.50", n: "nan", p: "inf", m: "-inf", z: null });
  });
});
