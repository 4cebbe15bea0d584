import { describe, expect, test } from "vitest";
import { tableShape } from "../../src/cdc/table.js";
import { addColumnSql, createProgressTableSql, createTableSql, truncateMarkersSql } from "../../src/projector/ddl.js";

const shape = tableShape(
  "shop",
  "order_lines",
  {
    type: "struct",
    fields: [
      { type: "string", optional: false, name: "io.debezium.data.Uuid", field: "order_id" },
      { type: "int32", optional: false, field: "line_no" },
      {
        type: "string",
        optional: false,
        field: "unit_price",
        parameters: {
          "__debezium.source.column.type": "NUMERIC",
          "__debezium.source.column.length": "12",
          "__debezium.source.column.scale": "2",
        },
      },
      { type: "string", optional: true, field: "note" },
    ],
  },
  {
    type: "struct",
    fields: [
      { type: "string", field: "order_id" },
      { type: "int32", field: "line_no" },
    ],
  },
);

describe("DDL text", () => {
  test("CREATE TABLE: ReplacingMergeTree(_version, _deleted) ordered by the primary key", () => {
    expect(createTableSql({ database: "sidecar" }, shape)).toBe(
      [
        "CREATE TABLE IF NOT EXISTS `sidecar`.`shop__order_lines` (",
        "  `order_id` UUID,",
        "  `line_no` Int32,",
        "  `unit_price` Decimal(12, 2),",
        "  `note` Nullable(String),",
        "  `_version` UInt64,",
        "  `_deleted` UInt8,",
        "  `_commit_ts` DateTime64(6, 'UTC'),",
        "  `_lsn` UInt64",
        ") ENGINE = ReplacingMergeTree(_version, _deleted)",
        "ORDER BY (`order_id`, `line_no`)",
        "COMMENT 'projection of shop.order_lines'",
      ].join("\n"),
    );
  });
  test("ON CLUSTER with a replicated engine", () => {
    const sql = createTableSql({ database: "sidecar", cluster: "main" }, shape);
    expect(sql).toContain("`sidecar`.`shop__order_lines` ON CLUSTER `main` (");
    expect(sql).toContain(
      "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', _version, _deleted)",
    );
    expect(createProgressTableSql({ database: "d", cluster: "main" })).toContain("ON CLUSTER `main`");
  });
  test("ADD COLUMN is idempotent", () => {
    expect(addColumnSql({ database: "sidecar" }, "shop__order_lines", shape.columns[3] as never)).toBe(
      "ALTER TABLE `sidecar`.`shop__order_lines` ADD COLUMN IF NOT EXISTS `note` Nullable(String)",
    );
  });
  test("truncate writes version-aware delete markers with typed parameters", () => {
    const sql = truncateMarkersSql({ database: "sidecar" }, shape);
    expect(sql).toContain(
      "INSERT INTO `sidecar`.`shop__order_lines` (`order_id`, `line_no`, _version, _deleted, _commit_ts, _lsn)",
    );
    expect(sql).toContain("FINAL WHERE _version < {lsn:UInt64}");
    expect(sql).not.toMatch(/\d{5,}/);
  });
});
