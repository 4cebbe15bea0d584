import { describe, expect, it } from "vitest";
import { renderColumn, renderMysqlTable } from "../../src/mysql/render.js";
import { mysqlColumn } from "../helpers/mysql-column.js";

const col = mysqlColumn;
const meta = { version: 4294967296n + 1201n, lsn: 4294967296n + 1201n, commitTs: "2026-12-06 23:00:00.000000" };

describe("the MySQL copy's SELECT (rows rendered as the projector stores them)", () => {
  it("renders one JSON line per row: every column, then the version columns", () => {
    const t = renderMysqlTable(
      {
        ref: { schema: "crm", table: "o`rders" },
        columns: [col("int", { name: "id", nullable: false }), col("varchar", { name: 'na"me' })],
      },
      meta,
    );
    expect(t.select).toBe(
      "SELECT CONCAT('{\"id\":', IFNULL(CAST(`id` AS CHAR), 'null'), ',\"na\\\\\"me\":', IFNULL(JSON_QUOTE(CAST(`na\"me` AS CHAR)), 'null'), " +
        '\',"_version":"4294968497","_lsn":"4294968497","_commit_ts":"2026-12-06 23:00:00.000000","_deleted":0}\') AS line FROM `crm`.`o``rders`',
    );
    expect(t.refusedCount).toBeUndefined();
  });

  it("FLOAT as DOUBLE text (every digit), bits as '0101…' of their width, bytes as lower-case hex", () => {
    expect(renderColumn(col("float")).json).toBe("CAST(CAST(`c` AS DOUBLE) AS CHAR)");
    expect(renderColumn(col("bit", { bits: 1 })).json).toBe(
      "CASE WHEN `c` = 0 THEN 'false' WHEN `c` <> 0 THEN 'true' END",
    );
    expect(renderColumn(col("bit", { bits: 10 })).json).toBe("CONCAT('\"', LPAD(BIN(`c` + 0), 10, '0'), '\"')");
    expect(renderColumn(col("varbinary")).json).toBe("CONCAT('\"', LOWER(HEX(`c`)), '\"')");
    expect(renderColumn(col("decimal")).json).toBe("CONCAT('\"', CAST(`c` AS CHAR), '\"')");
  });

  it("zero dates as Debezium sends them; dates outside 1900..2299 refused, never TIMESTAMPs", () => {
    expect(renderColumn(col("date")).json).toMatch(
      /^IF\(\(YEAR\(`c`\) = 0 OR MONTH\(`c`\) = 0 OR DAYOFMONTH\(`c`\) = 0\), 'null',/,
    );
    expect(renderColumn(col("date", { nullable: false })).json).toMatch(/, CONCAT\('"', '1970-01-01', '"'\),/);
    expect(renderColumn(col("timestamp")).json).toMatch(/, CONCAT\('"', '1970-01-01 00:00:00.000000', '"'\),/);
    expect(renderColumn(col("timestamp")).refuse).toBeUndefined();
    const t = renderMysqlTable({ ref: { schema: "s", table: "t" }, columns: [col("datetime", { name: "d" })] }, meta);
    expect(t.refusing).toEqual(["d"]);
    expect(t.select).toMatch(
      / WHERE NOT \(\(`d` IS NOT NULL AND NOT .* \(`d` < '1900-01-01' OR `d` >= '2300-01-01'\)\)\)$/,
    );
    expect(t.refusedCount).toMatch(/^SELECT COUNT\(\*\) AS n FROM `s`.`t` WHERE \(`d` IS NOT NULL/);
  });
});
