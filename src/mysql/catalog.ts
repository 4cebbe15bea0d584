import type { TableRef } from "../attach/tables.js";
import type { ConnectSchema } from "../cdc/envelope.js";
import { type TableShape, tableShape } from "../cdc/table.js";
import { type MysqlPool, rowsOf } from "./source.js";

/**
 * A MySQL/MariaDB table read from information_schema, described as the Debezium MySQL/MariaDB
 * connector describes it with the sidecar's settings (src/mysql/connector.ts: decimal.handling.mode
 * string, bigint.unsigned.handling.mode precise, time.precision.mode adaptive_time_microseconds,
 * binary.handling.mode hex, column.propagate.source.type .*). The ClickHouse columns then come from
 * the projector's own mapping (src/cdc/types.ts), so attach creates the table the first event would
 * have created; test/integration/mysql-types.test.ts checks this against Debezium's real schema.
 */
export interface MysqlColumn {
  name: string;
  /** information_schema DATA_TYPE, lower case: int, varchar, datetime, … */
  dataType: string;
  /** COLUMN_TYPE: int(10) unsigned, enum('a','b'), … */
  columnType: string;
  nullable: boolean;
  unsigned: boolean;
  precision?: number;
  scale?: number;
  /** Fractional seconds digits of time, datetime and timestamp. */
  fsp: number;
  /** bit(n): n. */
  bits?: number;
  generated: boolean;
}

export interface MysqlTable {
  ref: TableRef;
  columns: MysqlColumn[];
  primaryKey: string[];
  rowSchema: ConnectSchema;
  keySchema: ConnectSchema | undefined;
}

interface ColumnRow {
  name: string;
  data_type: string;
  column_type: string;
  is_nullable: string;
  num_precision: string | null;
  num_scale: string | null;
  dt_precision: string | null;
  extra: string;
}

export async function readMysqlCatalog(pool: MysqlPool, ref: TableRef): Promise<MysqlTable> {
  const cols = await rowsOf<ColumnRow>(
    pool,
    `SELECT COLUMN_NAME AS name, LOWER(DATA_TYPE) AS data_type, LOWER(COLUMN_TYPE) AS column_type,
            IS_NULLABLE AS is_nullable, NUMERIC_PRECISION AS num_precision, NUMERIC_SCALE AS num_scale,
            DATETIME_PRECISION AS dt_precision, EXTRA AS extra
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [ref.schema, ref.table],
  );
  if (!cols.length) throw new Error(`table ${ref.schema}.${ref.table} does not exist (or this user cannot see it)`);
  const keys = await rowsOf<{ name: string }>(
    pool,
    `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
    [ref.schema, ref.table],
  );
  const columns = cols.map(toColumn);
  const primaryKey = keys.map((k) => k.name);
  const fields = columns.map((c) => mysqlField(c, { key: primaryKey.includes(c.name) }));
  const keySchema = primaryKey.length
    ? { type: "struct", fields: primaryKey.map((k) => fields.find((f) => f.field === k) as ConnectSchema) }
    : undefined;
  return { ref, columns, primaryKey, rowSchema: { type: "struct", fields }, keySchema };
}

function toColumn(r: ColumnRow): MysqlColumn {
  const num = (v: string | null) => (v === null || v === undefined ? undefined : Number(v));
  const bits = r.data_type === "bit" ? Number(/bit\((\d+)\)/.exec(r.column_type)?.[1] ?? 1) : undefined;
  return {
    name: r.name,
    dataType: r.data_type,
    columnType: r.column_type,
    nullable: r.is_nullable === "YES",
    unsigned: /\bunsigned\b/.test(r.column_type),
    precision: num(r.num_precision),
    scale: num(r.num_scale),
    fsp: num(r.dt_precision) ?? 0,
    bits,
    generated: /GENERATED/i.test(r.extra),
  };
}

/** The projector's shape for a catalog table (throws ConversionError when it has no primary key). */
export function mysqlShape(t: MysqlTable): TableShape {
  return tableShape(t.ref.schema, t.ref.table, t.rowSchema, t.keySchema as never);
}

/** One column as Debezium describes it: only what src/cdc/types.ts reads. */
export function mysqlField(c: MysqlColumn, opts: { key: boolean }): ConnectSchema {
  const base = fieldSchema(c);
  const sourceType = `${c.dataType.toUpperCase()}${c.unsigned ? " UNSIGNED" : ""}`;
  const params: Record<string, string> = { ...base.parameters, "__debezium.source.column.type": sourceType };
  if (c.dataType === "decimal") {
    params["__debezium.source.column.length"] = String(c.precision);
    params["__debezium.source.column.scale"] = String(c.scale);
  }
  return { ...base, field: c.name, optional: opts.key ? false : c.nullable, parameters: params };
}

const INT_TYPES: Record<string, [signed: string, unsigned: string]> = {
  tinyint: ["int16", "int16"],
  smallint: ["int16", "int32"],
  mediumint: ["int32", "int32"],
  int: ["int32", "int64"],
  bigint: ["int64", "bytes"],
};

function fieldSchema(c: MysqlColumn): ConnectSchema {
  const ints = INT_TYPES[c.dataType];
  if (ints) {
    if (c.dataType === "bigint" && c.unsigned)
      return { type: "bytes", name: "org.apache.kafka.connect.data.Decimal", parameters: { scale: "0" } };
    return { type: c.unsigned ? ints[1] : ints[0] };
  }
  switch (c.dataType) {
    case "decimal":
      return { type: "string" };
    case "float":
      return { type: "float" };
    case "double":
    case "real":
      return { type: "double" };
    case "bit":
      return c.bits === 1
        ? { type: "boolean" }
        : { type: "bytes", name: "io.debezium.data.Bits", parameters: { length: String(c.bits) } };
    case "date":
      return { type: "int32", name: "io.debezium.time.Date" };
    case "time":
      return { type: "int64", name: "io.debezium.time.MicroTime" };
    case "datetime":
      return c.fsp <= 3
        ? { type: "int64", name: "io.debezium.time.Timestamp" }
        : { type: "int64", name: "io.debezium.time.MicroTimestamp" };
    case "timestamp":
      return { type: "string", name: "io.debezium.time.ZonedTimestamp" };
    case "year":
      return { type: "int32", name: "io.debezium.time.Year" };
    case "enum":
      return { type: "string", name: "io.debezium.data.Enum" };
    case "set":
      return { type: "string", name: "io.debezium.data.EnumSet" };
    case "json":
      return { type: "string", name: "io.debezium.data.Json" };
    default:
      // char, varchar, *text, binary, varbinary, *blob (hex text with binary.handling.mode=hex).
      return { type: "string" };
  }
}

/** Column types whose values are bytes (hex text in ClickHouse). */
export const BINARY_TYPES = new Set(["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"]);
