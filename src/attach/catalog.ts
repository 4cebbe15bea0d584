import type { ConnectSchema } from "../cdc/envelope.js";
import { type TableShape, tableShape } from "../cdc/table.js";
import type { PgPool } from "../shared/postgres.js";
import { quoteTable, type TableRef } from "./tables.js";

/**
 * A source table's shape read from the Postgres catalog, as the Debezium schema the connector
 * (connectors/shop.json settings) will put on each change event. The ClickHouse columns then come
 * from the same code the projector uses (src/cdc/types.ts → src/cdc/table.ts → src/projector/ddl.ts),
 * so the table `attach` creates is the table the projector would have created from the first event:
 * one type map, not two.
 */
export interface CatalogColumn {
  name: string;
  notNull: boolean;
  /** Postgres type name as Debezium reports it (a domain keeps its own name). */
  typeName: string;
  /** The type after resolving domains (what values look like). */
  baseType: string;
  /** e = enum, b = base, d = domain, c = composite, r = range … of the resolved type. */
  baseKind: string;
  typmod: number;
  /** Element type of an array (resolved through domains), else undefined. */
  elemType?: string;
  elemKind?: string;
  /** format_type(), for casting text back into the column's type. */
  formatted: string;
}

export interface CatalogTable {
  ref: TableRef;
  columns: CatalogColumn[];
  primaryKey: string[];
  /** The Debezium-style row schema and key schema. */
  rowSchema: ConnectSchema;
  keySchema: ConnectSchema | undefined;
}

export async function readCatalog(pool: PgPool, ref: TableRef): Promise<CatalogTable> {
  const { rows } = await pool.query<{
    name: string;
    not_null: boolean;
    typname: string;
    base_typname: string;
    base_typtype: string;
    typmod: number;
    elem_typname: string | null;
    elem_typtype: string | null;
    formatted: string;
  }>(
    `WITH RECURSIVE cols AS (
       SELECT a.attnum, a.attname::text AS name, a.attnotnull AS not_null, a.atttypid AS typid, a.atttypmod AS typmod,
              format_type(a.atttypid, a.atttypmod) AS formatted
         FROM pg_attribute a
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
     ), base(attnum, oid, typmod, depth) AS (
       SELECT c.attnum, c.typid, c.typmod, 0 FROM cols c
       UNION ALL
       SELECT b.attnum, t.typbasetype, CASE WHEN b.typmod >= 0 THEN b.typmod ELSE t.typtypmod END, b.depth + 1
         FROM base b JOIN pg_type t ON t.oid = b.oid WHERE t.typtype = 'd'
     ), resolved AS (
       SELECT DISTINCT ON (attnum) attnum, oid, typmod FROM base ORDER BY attnum, depth DESC
     )
     SELECT c.name, c.not_null, t.typname::text AS typname, bt.typname::text AS base_typname, bt.typtype::text AS base_typtype,
            r.typmod, et.typname::text AS elem_typname,
            (CASE WHEN et.typtype = 'd' THEN (SELECT e2.typtype FROM pg_type e2 WHERE e2.oid = et.typbasetype) ELSE et.typtype END)::text AS elem_typtype,
            c.formatted
       FROM cols c
       JOIN pg_type t ON t.oid = c.typid
       JOIN resolved r ON r.attnum = c.attnum
       JOIN pg_type bt ON bt.oid = r.oid
       LEFT JOIN pg_type et ON bt.typcategory = 'A' AND et.oid = bt.typelem
      ORDER BY c.attnum`,
    [quoteTable(ref)],
  );
  const pk = await pool.query<{ name: string }>(
    `SELECT a.attname::text AS name
       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.ord`,
    [quoteTable(ref)],
  );
  const columns: CatalogColumn[] = rows.map((r) => ({
    name: r.name,
    notNull: r.not_null,
    typeName: r.typname,
    baseType: r.base_typname,
    baseKind: r.base_typtype,
    typmod: r.typmod,
    elemType: r.elem_typname ?? undefined,
    elemKind: r.elem_typtype ?? undefined,
    formatted: r.formatted,
  }));
  const primaryKey = pk.rows.map((r) => r.name);
  const fields = columns.map((c) => debeziumField(c, { key: false }));
  const keySchema = primaryKey.length
    ? {
        type: "struct",
        fields: primaryKey.map((k) => debeziumField(columns.find((c) => c.name === k) as CatalogColumn, { key: true })),
      }
    : undefined;
  return { ref, columns, primaryKey, rowSchema: { type: "struct", fields }, keySchema };
}

/** The projector's shape for a catalog table (throws ConversionError for a table without a primary key). */
export function catalogShape(t: CatalogTable): TableShape {
  return tableShape(t.ref.schema, t.ref.table, t.rowSchema, t.keySchema as never);
}

/** numeric(p,s) typmod → p and s (-1: no precision given). */
function numericTypmod(typmod: number): { length?: number; scale?: number } {
  if (typmod < 4) return {};
  const v = typmod - 4;
  return { length: (v >> 16) & 0xffff, scale: v & 0xffff };
}

/**
 * One column as Debezium's Postgres connector describes it with the settings of connectors/shop.json
 * (decimal.handling.mode=string, time.precision.mode=adaptive_time_microseconds,
 * interval.handling.mode=string, binary.handling.mode=hex, column.propagate.source.type=.*).
 * Only what src/cdc/types.ts reads is filled in: type, name, optional, items, and the
 * source type/length/scale parameters.
 */
export function debeziumField(c: CatalogColumn, opts: { key: boolean }): ConnectSchema {
  const base = scalarSchema(c.baseType, c.baseKind, c.typmod, c.elemType, c.elemKind);
  const params: Record<string, string> = { "__debezium.source.column.type": c.typeName.toUpperCase() };
  if (c.baseType === "numeric" && c.typeName === "numeric") {
    const { length, scale } = numericTypmod(c.typmod);
    if (length !== undefined) params["__debezium.source.column.length"] = String(length);
    if (scale !== undefined) params["__debezium.source.column.scale"] = String(scale);
  }
  return { ...base, field: c.name, optional: opts.key ? false : !c.notNull, parameters: params };
}

function scalarSchema(type: string, kind: string, typmod: number, elemType?: string, elemKind?: string): ConnectSchema {
  if (kind === "e") return { type: "string", name: "io.debezium.data.Enum" };
  if (elemType) {
    // Debezium: SchemaBuilder.array(<element schema>.optional())
    const item = scalarSchema(elemType, elemKind ?? "b", -1);
    return { type: "array", items: { ...item, optional: true } };
  }
  switch (type) {
    case "int2":
      return { type: "int16" };
    case "int4":
      return { type: "int32" };
    case "int8":
    case "oid":
      return { type: "int64" };
    case "float4":
      return { type: "float" };
    case "float8":
      return { type: "double" };
    case "bool":
      return { type: "boolean" };
    case "uuid":
      return { type: "string", name: "io.debezium.data.Uuid" };
    case "date":
      return { type: "int32", name: "io.debezium.time.Date" };
    case "time":
      return { type: "int64", name: "io.debezium.time.MicroTime" };
    case "timestamp":
      return typmod >= 0 && typmod <= 3
        ? { type: "int64", name: "io.debezium.time.Timestamp" }
        : { type: "int64", name: "io.debezium.time.MicroTimestamp" };
    case "timestamptz":
      return { type: "string", name: "io.debezium.time.ZonedTimestamp" };
    case "timetz":
      return { type: "string", name: "io.debezium.time.ZonedTime" };
    case "interval":
      return { type: "string", name: "io.debezium.time.Interval" };
    case "json":
    case "jsonb":
      return { type: "string", name: "io.debezium.data.Json" };
    case "xml":
      return { type: "string", name: "io.debezium.data.Xml" };
    default:
      // text, varchar, bpchar, numeric (decimal.handling.mode=string), money, bytea (hex), inet, …
      return { type: "string" };
  }
}
