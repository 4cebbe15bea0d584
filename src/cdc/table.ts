import type { ConnectSchema, KeyMessage } from "./envelope.js";
import { type ColumnType, ConversionError, columnType } from "./types.js";

/** ClickHouse table name of a source table: `<schema>__<table>` (dots and odd characters kept out). */
export function targetTableName(schema: string, table: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");
  return `${clean(schema)}__${clean(table)}`;
}

/** A table without a primary key: its changes cannot be matched to a row, so it is not projected. */
export class NoKeyError extends ConversionError {}

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  key: boolean;
}

/** A source table's shape as its change events describe it. */
export interface TableShape {
  schema: string;
  table: string;
  target: string;
  columns: ColumnSpec[];
  keys: string[];
  /** Cheap identity of the row schema; a new fingerprint means columns may have changed. */
  fingerprint: string;
}

export function schemaFingerprint(rowSchema: ConnectSchema, key: ConnectSchema | undefined): string {
  const cols = (rowSchema.fields ?? [])
    .map((f) => {
      const p = f.parameters;
      return `${f.field}:${f.type}:${f.name ?? ""}:${f.optional ? 1 : 0}:${p?.["__debezium.source.column.length"] ?? ""}:${p?.["__debezium.source.column.scale"] ?? ""}:${f.items?.type ?? ""}${f.items?.name ?? ""}`;
    })
    .join(",");
  const keys = (key?.fields ?? []).map((f) => f.field).join(",");
  return `${cols}|${keys}`;
}

export function tableShape(
  schema: string,
  table: string,
  rowSchema: ConnectSchema,
  key: KeyMessage["schema"] | undefined,
): TableShape {
  const keys = (key?.fields ?? []).map((f) => f.field).filter((f): f is string => typeof f === "string");
  if (keys.length === 0) {
    throw new NoKeyError(
      `${schema}.${table} has no primary key (Debezium sent no message key); it cannot be projected`,
    );
  }
  const fields = rowSchema.fields ?? [];
  const names = new Set(fields.map((f) => f.field));
  for (const k of keys) {
    if (!names.has(k)) throw new ConversionError(`key column ${k} is not in the row schema of ${schema}.${table}`);
  }
  const columns = fields.map((f) => {
    if (!f.field) throw new ConversionError(`a field of ${schema}.${table} has no name`);
    const isKey = keys.includes(f.field);
    return { name: f.field, type: columnType(f, { key: isKey }), key: isKey };
  });
  return {
    schema,
    table,
    target: targetTableName(schema, table),
    columns,
    keys,
    fingerprint: schemaFingerprint(rowSchema, key),
  };
}
