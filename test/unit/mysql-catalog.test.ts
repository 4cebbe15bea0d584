import { describe, expect, it } from "vitest";
import { columnType } from "../../src/cdc/types.js";
import { type MysqlColumn, mysqlField } from "../../src/mysql/catalog.js";
import { mysqlConnectorConfig } from "../../src/mysql/connector.js";
import { columnNote } from "../../src/mysql/preflight.js";
import { parseMysqlUrl } from "../../src/mysql/source.js";
import { mysqlColumn } from "../helpers/mysql-column.js";

const col = mysqlColumn;
const sql = (c: MysqlColumn, key = false) => columnType(mysqlField(c, { key })).sql;

describe("MySQL catalog → ClickHouse column (as Debezium describes it)", () => {
  it.each([
    [col("tinyint"), "Nullable(Int16)"],
    [col("tinyint", { unsigned: true }), "Nullable(Int16)"],
    [col("smallint", { unsigned: true }), "Nullable(Int32)"],
    [col("int", { unsigned: true }), "Nullable(Int64)"],
    [col("bigint"), "Nullable(Int64)"],
    [col("bigint", { unsigned: true }), "Nullable(UInt64)"],
    [col("decimal", { precision: 65, scale: 30 }), "Nullable(Decimal(65, 30))"],
    [col("float"), "Nullable(Float32)"],
    [col("double"), "Nullable(Float64)"],
    [col("bit", { bits: 1 }), "Nullable(Bool)"],
    [col("bit", { bits: 10 }), "Nullable(String)"],
    [col("varbinary"), "Nullable(String)"],
    [col("date"), "Nullable(Date32)"],
    [col("time", { fsp: 6 }), "Nullable(Time64(6))"],
    [col("datetime", { fsp: 3 }), "Nullable(DateTime64(3, 'UTC'))"],
    [col("datetime", { fsp: 6 }), "Nullable(DateTime64(6, 'UTC'))"],
    [col("timestamp", { fsp: 6 }), "Nullable(DateTime64(6, 'UTC'))"],
    [col("year"), "Nullable(Int32)"],
    [col("enum"), "LowCardinality(Nullable(String))"],
    [col("set"), "Nullable(String)"],
  ])("%o", (c, expected) => {
    expect(sql(c)).toBe(expected);
  });

  it("a key column is never nullable", () => {
    expect(sql(col("bigint", { unsigned: true }), true)).toBe("UInt64");
  });
});

describe("MySQL preflight notes and connector config", () => {
  it("says how zero dates land, per column kind", () => {
    expect(columnNote(col("date"), true)).toMatch(/as NULL/);
    expect(columnNote(col("date", { nullable: false }), true)).toMatch(/as 1970-01-01 \(the epoch/);
    expect(columnNote(col("timestamp"), true)).toMatch(/as 1970-01-01 00:00:00 UTC/);
    expect(columnNote(col("datetime"), false)).toMatch(/before 1900 or after 2299 are refused/);
    expect(columnNote(col("int"), true)).toBeUndefined();
    // An incremental snapshot reads rows in the binary protocol: DATE's zero month or day rolls over.
    expect(columnNote(col("date"), true)).toMatch(/incremental snapshot .*'2024-00-10' as 2023-12-10/);
    expect(columnNote(col("datetime"), true)).not.toMatch(/incremental/);
  });

  it("leaves the rows to the sidecar's copy (no_data) and reads incremental snapshots server-prepared", () => {
    const config = mysqlConnectorConfig({
      source: parseMysqlUrl("mariadb://u@db"),
      connector: "attach_x",
      topicPrefix: "p",
      kafkaBrokers: "k:9092",
      tables: [{ schema: "crm", table: "plain" }],
    });
    expect(config["snapshot.mode"]).toBe("no_data");
    // Incremental snapshots (repair): server-prepared, rows in the binary protocol.
    expect(config["database.useServerPrepStmts"]).toBe("true");
    expect(Object.keys(config).filter((k) => k.startsWith("snapshot.select"))).toEqual([]);
  });

  it("picks the connector by the server's flavour and sets the exact value handling", () => {
    const config = (url: string) =>
      mysqlConnectorConfig({
        source: parseMysqlUrl(url),
        connector: "attach_x",
        topicPrefix: "p",
        kafkaBrokers: "k:9092",
        tables: [{ schema: "crm", table: "a$b" }],
      });
    const maria = config("mariadb://u:p%40ss@db:3307");
    expect(maria["connector.class"]).toBe("io.debezium.connector.mariadb.MariaDbConnector");
    expect(maria["database.password"]).toBe("p@ss");
    expect(maria["database.port"]).toBe("3307");
    // The beat table is captured: its rows date the binlog (src/projector/binlog-clock.ts).
    expect(maria["table.include.list"]).toBe("crm\\.a\\$b,sidecar\\.signal_attach_x,sidecar\\.beat");
    expect(maria["heartbeat.action.query"]).toBe(
      "INSERT INTO sidecar.beat (connector, beat_at) VALUES ('attach_x', UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE beat_at = VALUES(beat_at)",
    );
    expect(maria["bigint.unsigned.handling.mode"]).toBe("precise");
    expect(maria["schema.history.internal.kafka.topic"]).toBe("p.__schema_history_attach_x");
    expect(config("mysql://u@db")["connector.class"]).toBe("io.debezium.connector.mysql.MySqlConnector");
    // The scheme is only the first guess: openMysql sets the flavour the server reports.
    const source = parseMysqlUrl("mysql://u@db");
    expect(source).toMatchObject({ flavor: "mysql", scheme: "mysql" });
    const onMaria = mysqlConnectorConfig({
      source: { ...source, flavor: "mariadb" },
      connector: "attach_x",
      topicPrefix: "p",
      kafkaBrokers: "k:9092",
      tables: [],
    });
    expect(onMaria["connector.class"]).toBe("io.debezium.connector.mariadb.MariaDbConnector");
    expect(() => parseMysqlUrl("postgres://u@db")).toThrow(/not a mysql/);
    expect(() => parseMysqlUrl("mysql://db")).toThrow(/no user/);
  });
});
