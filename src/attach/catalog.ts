import type { ConnectSchema } from "../cdc/envelope.js";
import { type TableShape, tableShape } from "../cdc/table.js";
import type { PgPool } from "../shared/postgres.js";
import { projectionKey } from "./projection-key.js";
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
  /** Kind of the column's own type (d = domain, before resolving) and its schema. */
  ownKind: string;
  typeSchema: string;
  /** Kind of an array's own element type (d for an array of a domain) and its schema. */
  elemOwnKind?: string;
  elemSchema?: string;
  /** GENERATED ALWAYS AS … STORED. */
  generated: boolean;
}

export interface CatalogTable {
  ref: TableRef;
  /** The projected columns: every column but the generated ones. */
  columns: CatalogColumn[];
  /** GENERATED ALWAYS AS … STORED columns: not projected (see readCatalog). */
  generatedColumns: CatalogColumn[];
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
    own_typtype: string;
    type_schema: string;
    elem_own_typtype: string | null;
    elem_schema: string | null;
    generated: boolean;
  }>(
    `WITH RECURSIVE cols AS (
       SELECT a.attnum, a.attname::text AS name, a.attnotnull AS not_null, a.atttypid AS typid, a.atttypmod AS typmod,
              format_type(a.atttypid, a.atttypmod) AS formatted, a.attgenerated <> '' AS generated
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
            c.formatted, c.generated, t.typtype::text AS own_typtype, tn.nspname::text AS type_schema,
            et.typtype::text AS elem_own_typtype, en.nspname::text AS elem_schema
       FROM cols c
       JOIN pg_type t ON t.oid = c.typid
       JOIN pg_namespace tn ON tn.oid = t.typnamespace
       JOIN resolved r ON r.attnum = c.attnum
       JOIN pg_type bt ON bt.oid = r.oid
       LEFT JOIN pg_type et ON bt.typcategory = 'A' AND et.oid = bt.typelem
       LEFT JOIN pg_namespace en ON en.oid = et.typnamespace
      ORDER BY c.attnum`,
    [quoteTable(ref)],
  );
  // The key the projection uses: the primary key, or a replica identity / unique index (projection-key.ts).
  const { key } = await projectionKey(pool, ref);
  const all: CatalogColumn[] = rows.map((r) => ({
    name: r.name,
    notNull: r.not_null,
    typeName: r.typname,
    baseType: r.base_typname,
    baseKind: r.base_typtype,
    typmod: r.typmod,
    elemType: r.elem_typname ?? undefined,
    elemKind: r.elem_typtype ?? undefined,
    formatted: r.formatted,
    ownKind: r.own_typtype,
    typeSchema: r.type_schema,
    elemOwnKind: r.elem_own_typtype ?? undefined,
    elemSchema: r.elem_schema ?? undefined,
    generated: r.generated,
  }));
  // Generated columns are not projected: PostgreSQL before 18 leaves them out of logical
  // replication, so a streamed change could never carry their value (attach excludes them from
  // the connector too; preflight names them). 18's publish_generated_columns is not used yet.
  const columns = all.filter((c) => !c.generated);
  const generatedColumns = all.filter((c) => c.generated);
  const primaryKey = key?.columns ?? [];
  const fields = columns.map((c) => debeziumField(c, { key: false }));
  const keySchema = primaryKey.length
    ? {
        type: "struct",
        fields: primaryKey.map((k) => debeziumField(columns.find((c) => c.name === k) as CatalogColumn, { key: true })),
      }
    : undefined;
  return { ref, columns, generatedColumns, primaryKey, rowSchema: { type: "struct", fields }, keySchema };
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
  const base = scalarSchema(c);
  const params: Record<string, string> = { ...base.parameters, "__debezium.source.column.type": sourceTypeName(c) };
  if (c.baseType === "numeric" && c.typeName === "numeric") {
    const { length, scale } = numericTypmod(c.typmod);
    if (length !== undefined) params["__debezium.source.column.length"] = String(length);
    if (scale !== undefined) params["__debezium.source.column.scale"] = String(scale);
  }
  return { ...base, field: c.name, optional: opts.key ? false : !c.notNull, parameters: params };
}

/** User-defined types (enum, domain, composite; arrays of them) as Debezium names them: "SCHEMA"."NAME". */
function sourceTypeName(c: CatalogColumn): string {
  const userDefined = ["e", "d", "c"];
  const qualified = (schema: string | undefined, name: string) =>
    `"${(schema ?? "").toUpperCase()}"."${name.toUpperCase()}"`;
  if (userDefined.includes(c.ownKind)) return qualified(c.typeSchema, c.typeName);
  if (c.elemType && c.elemOwnKind && userDefined.includes(c.elemOwnKind)) return qualified(c.elemSchema, c.typeName);
  return c.typeName.toUpperCase();
}

function scalarSchema(c: CatalogColumn): ConnectSchema {
  if (c.baseKind === "e") return { type: "string", name: "io.debezium.data.Enum" };
  if (c.elemType) {
    // Debezium: SchemaBuilder.array(<element schema>.optional()); elements of an enum or a domain
    // are not optional, and a domain's elements arrive as the hex of their text (an unknown type).
    if (c.elemOwnKind === "d") return { type: "array", items: { type: "string", optional: false } };
    if (c.elemKind === "e") {
      return { type: "array", items: { type: "string", name: "io.debezium.data.Enum", optional: false } };
    }
    const item = elementSchema(c.elemType);
    return { type: "array", items: { ...item, optional: true } };
  }
  return typeSchema(c.baseType, c.typmod);
}

function elementSchema(type: string): ConnectSchema {
  return typeSchema(type, -1);
}

function typeSchema(type: string, typmod: number): ConnectSchema {
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
    case "bit":
      // bit(1) is a boolean to Debezium; bit(n) and varbit are io.debezium.data.Bits.
      return typmod === 1
        ? { type: "boolean" }
        : {
            type: "bytes",
            name: "io.debezium.data.Bits",
            parameters: { length: String(typmod > 0 ? typmod : 2147483647) },
          };
    case "varbit":
      return {
        type: "bytes",
        name: "io.debezium.data.Bits",
        parameters: { length: String(typmod > 0 ? typmod : 2147483647) },
      };
    case "point":
      return {
        type: "struct",
        name: "io.debezium.data.geometry.Point",
        fields: [
          { field: "x", type: "double", optional: false },
          { field: "y", type: "double", optional: false },
          { field: "wkb", type: "bytes", optional: true },
          { field: "srid", type: "int32", optional: true },
        ],
      };
    case "hstore":
      return { type: "string", name: "io.debezium.data.Json" }; // hstore.handling.mode=json
    case "ltree":
      return { type: "string", name: "io.debezium.data.Ltree" };
    case "tsvector":
      return { type: "string", name: "io.debezium.data.Tsvector" };
    default:
      // text, varchar, bpchar, numeric (decimal.handling.mode=string), money, bytea (hex), inet, …
      return { type: "string" };
  }
}
