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

/** A row already serialised (see encodeRow); `values` is parsed back only when a later row needs it. */
export class LineRow implements BuiltRow {
  readonly unavailable: string[] = [];
  readonly deleted = false;
  private parsed: Record<string, unknown> | undefined;

  constructor(
    readonly line: string,
    readonly keyId: string,
    readonly lsn: bigint,
  ) {}

  get values(): Record<string, unknown> {
    this.parsed ??= JSON.parse(this.line) as Record<string, unknown>;
    return this.parsed;
  }
}

interface LineLayout {
  /** `,"name":` per column. */
  prefixes: string[];
  /** Per column: its position among the key columns, or -1. */
  keyAt: number[];
  /** A column named like a metadata column: only the object form can express the override. */
  clashes: boolean;
  /**
   * Every column name is an ordinary object property (no array index, which objects enumerate
   * first, and no `__proto__`): the line can be one JSON.stringify of an object, in column order.
   */
  plainNames: boolean;
}
const layouts = new WeakMap<TableShape, LineLayout>();
// Every row of a transaction has the same commit time: format it once per run of equal values.
let lastCommitUs = -1n;
let lastCommitText = "";
function commitTsText(us: bigint): string {
  if (us !== lastCommitUs) {
    lastCommitText = formatMicros(us);
    lastCommitUs = us;
  }
  return lastCommitText;
}
const META = new Set(["_version", "_lsn", "_commit_ts", "_deleted"]);
const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

function layoutOf(shape: TableShape): LineLayout {
  let layout = layouts.get(shape);
  if (!layout) {
    layout = {
      prefixes: shape.columns.map((c) => `,${JSON.stringify(c.name)}:`),
      keyAt: shape.columns.map((c) => (c.key ? shape.keys.indexOf(c.name) : -1)),
      clashes: shape.columns.some((c) => META.has(c.name)),
      plainNames: shape.columns.every((c) => c.name !== "__proto__" && !ARRAY_INDEX.test(c.name)),
    };
    layouts.set(shape, layout);
  }
  return layout;
}

/**
 * The same row as buildRow for a c/r/u event, written straight to its JSON line (most of the
 * projector's per-row work is here). Undefined when a column holds an unchanged TOAST value or
 * a column clashes with a metadata name: use buildRow then.
 *
 * The line is one JSON.stringify of a plain object (one native pass, no string per value); a
 * row holding a float -0 (which JSON.stringify writes as 0) is written value by value instead.
 */
export function encodeRow(shape: TableShape, ev: ChangeEvent): LineRow | undefined {
  const layout = layoutOf(shape);
  const after = ev.after;
  if (ev.op === "d" || !after || layout.clashes) return undefined;
  const lsn = ev.lsn.toString();
  const keyValues: unknown[] = new Array(shape.keys.length).fill(undefined);
  const cols = shape.columns;
  const values: unknown[] = new Array(cols.length);
  let plain = layout.plainNames;
  const row: Record<string, unknown> = {
    _version: lsn,
    _lsn: lsn,
    _commit_ts: commitTsText(ev.commitTsUs),
    _deleted: 0,
  };
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i] as TableShape["columns"][number];
    const v = c.type.convert(after[c.name]);
    if (v === UNAVAILABLE) return undefined;
    const k = layout.keyAt[i] as number;
    if (k >= 0) keyValues[k] = v;
    values[i] = v;
    if (typeof v === "number" ? v === 0 && 1 / v < 0 : typeof v === "object" && v !== null && hasNegativeZero(v))
      plain = false;
    if (plain) row[c.name] = v;
  }
  const keyId = JSON.stringify(keyValues);
  if (plain) return new LineRow(JSON.stringify(row), keyId, ev.lsn);
  let line = `{"_version":"${lsn}","_lsn":"${lsn}","_commit_ts":"${commitTsText(ev.commitTsUs)}","_deleted":0`;
  for (let i = 0; i < cols.length; i++) {
    const v = values[i];
    if (v === undefined) continue; // as JSON.stringify leaves an undefined property out
    line += (layout.prefixes[i] as string) + jsonValue(v);
  }
  return new LineRow(`${line}}`, keyId, ev.lsn);
}

/** Whether an array (at any depth) holds a float -0, which only jsonValue writes as -0. */
function hasNegativeZero(v: object): boolean {
  if (!Array.isArray(v)) return false;
  for (const x of v) {
    if (typeof x === "number" ? x === 0 && 1 / x < 0 : Array.isArray(x) && hasNegativeZero(x)) return true;
  }
  return false;
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

/** JSON of a converted value; a float -0 stays -0 (JSON.stringify writes it as 0), in arrays too. */
export function jsonValue(v: unknown): string {
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : JSON.stringify(v);
  if (Array.isArray(v) && v.some((x) => Object.is(x, -0) || Array.isArray(x)))
    return `[${v.map((x) => (x === undefined ? "null" : jsonValue(x))).join(",")}]`;
  return JSON.stringify(v);
}
