import type { ChangeEvent } from "../cdc/envelope.js";
import type { TableShape } from "../cdc/table.js";
import { ConversionError, formatMicros, UNAVAILABLE } from "../cdc/types.js";

/** One row for ClickHouse plus the columns whose value Debezium did not send (unchanged TOAST). */
export interface BuiltRow {
  values: Record<string, unknown>;
  /** Columns holding UNAVAILABLE: to be filled with the last known value before insert. */
  unavailable: string[];
  keyId: string;
  lsn: bigint;
  deleted: boolean;
}

/** Identity of a key inside one batch (JSON of the converted key values in key order). */
export function keyIdentity(shape: TableShape, values: Record<string, unknown>): string {
  return JSON.stringify(shape.keys.map((k) => values[k]));
}

/** Builds the row a c/r/u/d event stands for (pure; throws ConversionError for a bad value). */
export function buildRow(shape: TableShape, ev: ChangeEvent): BuiltRow {
  const meta = {
    _version: ev.lsn.toString(),
    _lsn: ev.lsn.toString(),
    _commit_ts: formatMicros(ev.commitTsUs),
  };
  if (ev.op === "d") {
    // Only the key is reliable in a delete's `before` (replica identity default); the rest is left to
    // column defaults, and the row is hidden by _deleted = 1 anyway.
    const source = ev.before ?? ev.key?.payload;
    if (!source) throw new ConversionError("delete without before or key");
    const values: Record<string, unknown> = { ...meta, _deleted: 1 };
    for (const c of shape.columns) {
      if (!c.key) continue;
      values[c.name] = c.type.convert(source[c.name] ?? ev.key?.payload[c.name]);
    }
    return { values, unavailable: [], keyId: keyIdentity(shape, values), lsn: ev.lsn, deleted: true };
  }
  const after = ev.after;
  if (!after) throw new ConversionError(`op ${ev.op} without after`);
  const values: Record<string, unknown> = { ...meta, _deleted: 0 };
  const unavailable: string[] = [];
  for (const c of shape.columns) {
    const v = c.type.convert(after[c.name]);
    if (v === UNAVAILABLE) {
      if (c.key) throw new ConversionError(`key column ${c.name} is unavailable`);
      unavailable.push(c.name);
    }
    values[c.name] = v;
  }
  return { values, unavailable, keyId: keyIdentity(shape, values), lsn: ev.lsn, deleted: false };
}

/**
 * Folds a row into the batch's latest-row-per-key map (stream order = LSN order per key).
 * Unchanged TOAST columns take the value of the previous row for the key in this batch, if any.
 */
export function foldRow(latest: Map<string, BuiltRow>, row: BuiltRow): void {
  const prev = latest.get(row.keyId);
  if (prev && prev.lsn > row.lsn) return; // an older duplicate never wins
  if (prev && !prev.deleted && row.unavailable.length > 0) {
    const still: string[] = [];
    for (const col of row.unavailable) {
      if (prev.unavailable.includes(col)) still.push(col);
      else row.values[col] = prev.values[col];
    }
    row.unavailable = still;
  }
  latest.set(row.keyId, row);
}
