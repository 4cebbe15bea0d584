import { describe, expect, it } from "vitest";
import { binlogVersion, formatBinlogVersion } from "../../src/cdc/binlog-version.js";
import { toChangeEvent } from "../../src/cdc/envelope.js";
import { columnType, convertUnsignedBigint } from "../../src/cdc/types.js";

const src = (file: string, pos: number, row = 0) => ({ connector: "mariadb", db: "shop", table: "t", file, pos, row });

describe("binlogVersion", () => {
  it("orders rows of one event, events of one file, and files", () => {
    const order = [
      src("mariadb-bin.000001", 2683), // a snapshot taken at 2683 (the next event's start)
      src("mariadb-bin.000001", 2907, 0), // first rows event after it (Gtid and Table_map come first)
      src("mariadb-bin.000001", 2907, 2),
      src("mariadb-bin.000001", 3162, 0),
      src("mariadb-bin.000001", 4_294_967_000, 1),
      src("mariadb-bin.000002", 4, 0), // rotation (or restart): a new file starts at 4
    ].map(binlogVersion);
    for (let i = 1; i < order.length; i++) expect(order[i]! > order[i - 1]!).toBe(true);
  });

  it("reads file and position back", () => {
    expect(formatBinlogVersion(binlogVersion(src("mysql-bin.000012", 3162, 1)))).toBe("000012:3163");
  });

  it("refuses what is not a binlog position", () => {
    expect(() => binlogVersion({ ...src("mariadb-bin", 4) })).toThrow(/source.file/);
    expect(() => binlogVersion({ ...src("mariadb-bin.000001", -1) })).toThrow(/source.pos/);
    expect(() => binlogVersion({ ...src("mariadb-bin.000001", 2 ** 32) })).toThrow(/past 32 bits/);
  });

  it("makes a MySQL envelope a change event of the database's table", () => {
    const ev = toChangeEvent(
      {
        schema: { type: "struct", fields: [{ type: "struct", field: "after", fields: [] }] },
        payload: {
          before: null,
          after: { id: 1 },
          op: "c",
          source: { ...src("mariadb-bin.000003", 400, 2), ts_ms: 1_700_000_000_000, snapshot: null },
        },
      },
      null,
    );
    expect(ev.schema).toBe("shop");
    expect(ev.lsn).toBe((3n << 32n) + 402n);
  });
});

describe("MySQL types", () => {
  const unsignedBigint = {
    type: "bytes",
    name: "org.apache.kafka.connect.data.Decimal",
    optional: true,
    field: "u",
    parameters: { scale: "0", "__debezium.source.column.type": "BIGINT UNSIGNED" },
  };
  it("BIGINT UNSIGNED (precise) lands as UInt64, up to 2^64-1", () => {
    expect(columnType(unsignedBigint).sql).toBe("Nullable(UInt64)");
    expect(convertUnsignedBigint("AP//////////")).toBe("18446744073709551615");
    expect(convertUnsignedBigint("AA==")).toBe("0");
    expect(() => convertUnsignedBigint("gA==")).toThrow(/outside BIGINT UNSIGNED/);
  });
  it("TIME keeps negative durations and more than 24 hours", () => {
    const t = columnType({ type: "int64", name: "io.debezium.time.MicroTime", field: "t" });
    expect(t.convert(-3_020_399_000_000)).toBe("-838:59:59.000000");
    expect(t.convert(360_000_500_000)).toBe("100:00:00.500000");
    expect(() => t.convert(3_600_000_000_000 * 1000)).toThrow(/time out of range/);
  });
});
