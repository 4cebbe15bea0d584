import type { CatalogColumn, CatalogTable } from "../attach/catalog.js";
import { quoteIdent, quoteTable, type TableRef } from "../attach/tables.js";

/**
 * The snapshot copy's SELECT (pure, unit tested): Postgres renders each row as one JSON line in
 * exactly the form the projector writes for the same row (src/cdc/types.ts conversions, mirrored
 * per column type), so the bytes go from `COPY … TO STDOUT` into ClickHouse's JSONEachRow parser
 * with no JavaScript per row. Session settings it relies on: see SNAPSHOT_SESSION_SQL.
 *
 * A column whose values a native ClickHouse type cannot hold (NaN in a Decimal, a date outside
 * 1900..2299, NULL in a non-nullable array element) has a `refuse` condition: such rows are left
 * out of the copy and counted, as the streaming path dead-letters them. A column type this file
 * does not render exactly is `unsupported`: that table is snapshotted by Debezium instead.
 */
export const SNAPSHOT_SESSION_SQL = [
  "SET datestyle = ISO, YMD",
  "SET intervalstyle = iso_8601",
  "SET TIME ZONE 'UTC'",
  "SET extra_float_digits = 1",
];

export interface ColumnRender {
  /** SQL expression whose row_to_json form is the projector's JSON value. */
  expr: string;
  /** SQL condition true for values the projection refuses (the row is not copied). */
  refuse?: string;
}

export interface SnapshotMeta {
  /** _version of every snapshot row (see docs/attach.md, "Versions"). */
  version: bigint;
  /** _lsn: the slot's consistent point. */
  lsn: bigint;
  /** _commit_ts: 'YYYY-MM-DD HH:MM:SS.ffffff' UTC. */
  commitTs: string;
}

const RANGE_LOW = "'1900-01-01'";
const RANGE_HIGH_TS = "'2300-01-01'";

const TEXT_TYPES = new Set([
  "text",
  "varchar",
  "bpchar",
  "name",
  "citext",
  "inet",
  "cidr",
  "macaddr",
  "macaddr8",
  "ltree",
  "xml",
  "json",
  "jsonb",
  "point",
  "line",
  "lseg",
  "box",
  "path",
  "polygon",
  "circle",
  "tsquery",
  "int4multirange",
  "int8multirange",
  "nummultirange",
  "tsmultirange",
  "tstzmultirange",
  "datemultirange",
]);

/** Array elements whose to_json form is already the projector's element value. */
const JSON_ELEMENTS = new Set(["int2", "int4", "int8", "bool", "text", "varchar", "bpchar", "uuid"]);

/** One column's rendering, or undefined when this copy cannot render it exactly. */
export function renderColumn(c: CatalogColumn): ColumnRender | undefined {
  const x = quoteIdent(c.name);
  if (c.elemType) return renderArray(c, x);
  if (c.baseKind === "e") return { expr: `${x}::text` };
  switch (c.baseType) {
    case "int2":
    case "int4":
    case "int8":
    case "oid":
    case "bool":
    case "uuid":
      return { expr: x };
    case "float4":
    case "float8":
      // Non-finite values as ClickHouse reads them (types.ts convertFloat).
      return {
        expr: `CASE WHEN ${x} = 'NaN' THEN to_json('nan'::text) WHEN ${x} = 'Infinity' THEN to_json('inf'::text) WHEN ${x} = '-Infinity' THEN to_json('-inf'::text) ELSE to_json(${x}) END`,
      };
    case "numeric":
      return renderNumeric(c, x);
    case "date":
      return { expr: `${x}::text`, refuse: `(${x} < ${RANGE_LOW} OR ${x} > '2299-12-31')` };
    case "time":
      return { expr: `to_char(${x}::interval, 'HH24:MI:SS.US')` };
    case "timestamp":
      return { expr: `${x}::text`, refuse: `(${x} < ${RANGE_LOW} OR ${x} >= ${RANGE_HIGH_TS})` };
    case "timestamptz":
      return {
        expr: `(${x} AT TIME ZONE 'UTC')::text`,
        refuse: `(${x} < ${RANGE_LOW} OR ${x} >= ${RANGE_HIGH_TS})`,
      };
    case "interval":
      return { expr: `${x}::text` };
    case "bytea":
      return { expr: `encode(${x}, 'hex')` };
    case "bit":
      if (c.typmod === 1) return { expr: `(${x} = B'1')` };
      return { expr: `${x}::text` };
    case "varbit":
      // Debezium does not send varbit's length: leading zeros are dropped (types.ts convertBits).
      // Zero (B'0', B'000', B'') is '' as Debezium streams it: one value, one form.
      return { expr: `ltrim(${x}::text, '0')` };
    default:
      // json/jsonb as text (row_to_json would embed them); the rest through their output function
      // (a cast to text would trim char(n)'s padding).
      if (c.baseType === "json" || c.baseType === "jsonb") return { expr: `${x}::text` };
      return TEXT_TYPES.has(c.baseType) ? { expr: x } : undefined;
  }
}

function renderNumeric(c: CatalogColumn, x: string): ColumnRender {
  const special = `(${x} = 'NaN' OR ${x} = 'Infinity' OR ${x} = '-Infinity')`;
  // numeric(p,s) is Decimal(p,s) when p ≤ 76 (types.ts); plain numeric is exact text.
  const precision = c.typmod >= 4 ? ((c.typmod - 4) >> 16) & 0xffff : 0;
  if (c.typeName === "numeric" && precision >= 1 && precision <= 76) return { expr: `${x}::text`, refuse: special };
  return { expr: `${x}::text` };
}

function renderArray(c: CatalogColumn, x: string): ColumnRender | undefined {
  if (c.elemOwnKind === "d") return undefined;
  if (c.elemKind === "e") {
    // Enum elements are not nullable in the projection (catalog.ts).
    return { expr: `to_json(${x}::text[])`, refuse: `(array_position(${x}, NULL) IS NOT NULL)` };
  }
  if (!c.elemType || !JSON_ELEMENTS.has(c.elemType)) return undefined;
  return { expr: `to_json(${x})`, refuse: `(array_ndims(${x}) > 1)` };
}

export interface RenderedTable {
  /** SELECT yielding one JSON text per row; `{from}` is replaced by the relation (a leaf) and `{where}` by a range. */
  select: (from: TableRef, where?: string) => string;
  /** Counts of refused rows: `n` in all, and one column per refusing source column (undefined when none can refuse). */
  refusedCount: (from: TableRef) => string | undefined;
  /** Columns that can refuse a value (for the report). */
  refusing: string[];
}

/** The copy's SELECT for a table, or the names of the columns it cannot render. */
export function renderTable(t: CatalogTable, meta: SnapshotMeta): RenderedTable | { unsupported: string[] } {
  const rendered = t.columns.map((c) => ({ c, r: renderColumn(c) }));
  const unsupported = rendered
    .filter((x) => !x.r || ["_version", "_lsn", "_commit_ts", "_deleted"].includes(x.c.name))
    .map((x) => x.c.name);
  if (unsupported.length) return { unsupported };
  const cols = rendered.map(({ c, r }) => `${(r as ColumnRender).expr} AS ${quoteIdent(c.name)}`);
  const metaCols = [
    `'${meta.version}'::text AS _version`,
    `'${meta.lsn}'::text AS _lsn`,
    `'${meta.commitTs}'::text AS _commit_ts`,
    "0 AS _deleted",
  ];
  const refusing = rendered.filter((x) => x.r?.refuse).map((x) => ({ name: x.c.name, refuse: x.r!.refuse as string }));
  const refuses = refusing.map((r) => r.refuse);
  const keep = refuses.length ? `NOT coalesce(${refuses.join(" OR ")}, false)` : "";
  return {
    select: (from, where) => {
      const conds = [keep, where].filter(Boolean);
      return `SELECT row_to_json(r)::text FROM (SELECT ${[...cols, ...metaCols].join(", ")} FROM ONLY ${quoteTable(from)}${conds.length ? ` WHERE ${conds.join(" AND ")}` : ""}) r`;
    },
    refusedCount: (from) =>
      refuses.length
        ? `SELECT count(*)::bigint AS n, ${refusing.map((r) => `count(*) FILTER (WHERE coalesce(${r.refuse}, false))::bigint AS ${quoteIdent(`refused:${r.name}`)}`).join(", ")} FROM ONLY ${quoteTable(from)} WHERE coalesce(${refuses.join(" OR ")}, false)`
        : undefined,
    refusing: refusing.map((r) => r.name),
  };
}

/** COPY of a SELECT whose single column is a JSON line: CSV with a quote and a delimiter JSON never holds raw (Postgres escapes control characters in JSON), so every line leaves COPY unchanged. */
export function copyStatement(select: string): string {
  return `COPY (${select}) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')`;
}
