import type { SnapshotMeta } from "../snapshot/render.js";
import { BINARY_TYPES, type MysqlColumn, type MysqlTable } from "./catalog.js";
import { quoteMy } from "./source.js";

/**
 * The MySQL/MariaDB copy's SELECT (pure, unit tested): the server renders each row as one JSON
 * line in exactly the form the projector stores for the same row streamed from the binlog
 * (Debezium's values with the connector's settings, src/mysql/connector.ts, through
 * src/cdc/types.ts), so the rows go into ClickHouse's JSONEachRow parser untouched. The session
 * runs in UTC (`SET time_zone = '+00:00'`): TIMESTAMP values read as UTC, as Debezium sends them.
 *
 * Zero dates land as Debezium sends them: NULL in a nullable DATE/DATETIME, 1970-01-01 in a NOT
 * NULL one and in every TIMESTAMP. Dates outside ClickHouse's 1900..2299 are refused (the row is
 * left out and counted), as the projector dead-letters them.
 */
export interface MysqlRenderedTable {
  /** SELECT of one column `line` per row, the JSON line (without its newline). */
  select: string;
  /** SELECT COUNT(*) of rows left out (undefined: no column can refuse). */
  refusedCount?: string;
  /** Columns that can refuse a value. */
  refusing: string[];
}

interface ColumnRender {
  /** SQL text of the column's JSON value (never NULL: 'null' for NULL). */
  json: string;
  refuse?: string;
}

const INTS = new Set(["tinyint", "smallint", "mediumint", "int", "bigint"]);
const TEXTUAL = new Set(["char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"]);
const sqlString = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
const quoted = (expr: string) => `CONCAT('"', ${expr}, '"')`;

/** A date (or datetime) with a zero year, month or day: Debezium sends none of its parts. */
const zeroDate = (q: string) => `(YEAR(${q}) = 0 OR MONTH(${q}) = 0 OR DAYOFMONTH(${q}) = 0)`;

function dateLike(c: MysqlColumn, q: string, format: string, epoch: string): ColumnRender {
  // A TIMESTAMP zero is 1970-01-01 whatever its nullability; a DATE/DATETIME zero is NULL when it may be.
  const zero = c.dataType === "timestamp" || !c.nullable ? quoted(sqlString(epoch)) : "'null'";
  return {
    json: `IF(${zeroDate(q)}, ${zero}, ${quoted(`DATE_FORMAT(${q}, ${sqlString(format)})`)})`,
    refuse:
      c.dataType === "timestamp"
        ? undefined
        : `(${q} IS NOT NULL AND NOT ${zeroDate(q)} AND (${q} < '1900-01-01' OR ${q} >= '2300-01-01'))`,
  };
}

export function renderColumn(c: MysqlColumn): ColumnRender {
  const q = quoteMy(c.name);
  if (INTS.has(c.dataType)) return { json: `CAST(${q} AS CHAR)` };
  if (BINARY_TYPES.has(c.dataType)) return { json: quoted(`LOWER(HEX(${q}))`) };
  // CAST: a JSON column of MySQL 8 is not a string to JSON_QUOTE.
  if (TEXTUAL.has(c.dataType)) return { json: `JSON_QUOTE(CAST(${q} AS CHAR))` };
  switch (c.dataType) {
    case "year":
      return { json: `CAST(${q} + 0 AS CHAR)` };
    case "decimal":
      return { json: quoted(`CAST(${q} AS CHAR)`) };
    case "float":
      // As a DOUBLE every FLOAT prints exactly (shortest round-trip text); ClickHouse's Float32 takes it back.
      return { json: `CAST(CAST(${q} AS DOUBLE) AS CHAR)` };
    case "double":
    case "real":
      return { json: `CAST(${q} AS CHAR)` };
    case "bit":
      return c.bits === 1
        ? { json: `CASE WHEN ${q} = 0 THEN 'false' WHEN ${q} <> 0 THEN 'true' END` } // NULL stays NULL
        : { json: quoted(`LPAD(BIN(${q} + 0), ${c.bits}, '0')`) };
    case "date":
      return dateLike(c, q, "%Y-%m-%d", "1970-01-01");
    case "datetime":
    case "timestamp":
      return dateLike(c, q, "%Y-%m-%d %H:%i:%s.%f", "1970-01-01 00:00:00.000000");
    case "time":
      return { json: quoted(`TIME_FORMAT(${q}, '%H:%i:%s.%f')`) };
    default:
      return { json: `JSON_QUOTE(CAST(${q} AS CHAR))` };
  }
}

export function renderMysqlTable(t: Pick<MysqlTable, "ref" | "columns">, meta: SnapshotMeta): MysqlRenderedTable {
  const from = `${quoteMy(t.ref.schema)}.${quoteMy(t.ref.table)}`;
  const parts: string[] = [];
  const refusals: string[] = [];
  const refusing: string[] = [];
  t.columns.forEach((c, i) => {
    const r = renderColumn(c);
    parts.push(sqlString(`${i ? "," : "{"}${JSON.stringify(c.name)}:`), `IFNULL(${r.json}, 'null')`);
    if (r.refuse) {
      refusals.push(r.refuse);
      refusing.push(c.name);
    }
  });
  const version = meta.version.toString();
  parts.push(sqlString(`,"_version":"${version}","_lsn":"${meta.lsn}","_commit_ts":"${meta.commitTs}","_deleted":0}`));
  const kept = refusals.length ? ` WHERE NOT (${refusals.join(" OR ")})` : "";
  return {
    select: `SELECT CONCAT(${parts.join(", ")}) AS line FROM ${from}${kept}`,
    refusedCount: refusals.length ? `SELECT COUNT(*) AS n FROM ${from} WHERE ${refusals.join(" OR ")}` : undefined,
    refusing,
  };
}
