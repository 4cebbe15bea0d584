import type { ColumnInfo } from "./catalog.js";
import type { ScalarType } from "./types.js";

/**
 * Time buckets for grouped reads (`groupBy=placed_at:day`): the ClickHouse expression that puts a
 * date or date-time column into UTC hour/day/week/month buckets, and the bucket range a request's
 * filters imply, so a series can be filled with empty buckets (`WITH FILL FROM … TO …`). Pure code.
 *
 * Weeks start on Monday. The expressions rely on `enable_extended_results_for_datetime_functions`
 * (BUCKET_SETTINGS): without it toStartOfDay() of a DateTime64 before 1970 or after 2106 wraps around.
 */
export const TIME_BUCKETS = ["hour", "day", "week", "month"] as const;
export type TimeBucket = (typeof TIME_BUCKETS)[number];

/** Per-query settings a bucketed aggregate needs. */
export const BUCKET_SETTINGS = { enable_extended_results_for_datetime_functions: 1 } as const;

export function isTimeFamily(t: ScalarType): boolean {
  return t.family === "date" || t.family === "datetime";
}

/** The SQL type a bucket of this column has (and its fill bounds are bound as). */
export function bucketType(t: ScalarType): string {
  return t.family === "date" ? "Date32" : "DateTime64(0, 'UTC')";
}

/**
 * Bucket start of `ident` (an already quoted column). Date-times become DateTime64(0, 'UTC') and
 * dates Date32, whatever the column's precision or time zone, so fill bounds have one type.
 * NULLs have no place on a time axis: callers filter them out, hence assumeNotNull.
 */
export function bucketExpr(ident: string, t: ScalarType, unit: TimeBucket): string {
  const col = t.nullable ? `assumeNotNull(${ident})` : ident;
  if (t.family === "date") {
    const f = { hour: col, day: col, week: `toMonday(${col})`, month: `toStartOfMonth(${col})` }[unit];
    return `toDate32(${f})`;
  }
  const f = {
    hour: `toStartOfHour(${col}, 'UTC')`,
    day: `toStartOfDay(${col}, 'UTC')`,
    week: `toMonday(${col}, 'UTC')`,
    month: `toStartOfMonth(${col}, 'UTC')`,
  }[unit];
  return `toDateTime64(${f}, 0, 'UTC')`;
}

export function intervalOf(unit: TimeBucket): string {
  return `INTERVAL 1 ${unit.toUpperCase()}`;
}

// ---------------------------------------------------------------------------
// Bucket arithmetic in microseconds since the epoch (BigInt: exact from 1900 to 2299)

const HOUR = 3_600_000_000n;
const DAY = 24n * HOUR;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** `YYYY-MM-DD[ hh:mm:ss[.ffffff]]` (UTC, as checkValue normalises it) → microseconds. */
export function toMicros(text: string): bigint {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/.exec(text);
  if (!m) throw new Error(`not a normalised date-time: ${text}`);
  const ms = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
  );
  return BigInt(ms) * 1000n + BigInt((m[7] ?? "").padEnd(6, "0"));
}

function dateOf(us: bigint): Date {
  return new Date(Number(floorDiv(us, 1000n)));
}

export function bucketStart(us: bigint, unit: TimeBucket): bigint {
  if (unit === "hour") return floorDiv(us, HOUR) * HOUR;
  const day = floorDiv(us, DAY) * DAY;
  if (unit === "day") return day;
  const d = dateOf(day);
  if (unit === "week") return day - BigInt((d.getUTCDay() + 6) % 7) * DAY;
  return BigInt(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)) * 1000n;
}

export function nextBucket(start: bigint, unit: TimeBucket): bigint {
  if (unit === "hour") return start + HOUR;
  if (unit === "day") return start + DAY;
  if (unit === "week") return start + 7n * DAY;
  const d = dateOf(start);
  return BigInt(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)) * 1000n;
}

/** Microseconds → the text a bucket of this column type is bound as. */
export function formatBucket(us: bigint, t: ScalarType): string {
  const iso = dateOf(us).toISOString();
  return t.family === "date" ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

export interface BucketBound {
  op: string;
  /** The filter value as checkValue normalised it. */
  value: string;
}

/**
 * The buckets the filters on the bucketed column allow: `[from, to)` in microseconds, each side
 * undefined when no filter bounds it. `gt`/`lt` exclude the value itself (one microsecond, or one
 * day for a date column), so a filter `placed_at:lt:2024-05-03` ends the series on 2024-05-02.
 */
export function bucketRange(
  column: Pick<ColumnInfo, "scalar">,
  bounds: BucketBound[],
  unit: TimeBucket,
): { from?: bigint; to?: bigint } {
  const step = column.scalar.family === "date" ? DAY : 1n;
  let from: bigint | undefined;
  let to: bigint | undefined;
  const lower = (v: bigint) => {
    const b = bucketStart(v, unit);
    from = from === undefined || b > from ? b : from;
  };
  const upper = (v: bigint) => {
    const b = nextBucket(bucketStart(v, unit), unit);
    to = to === undefined || b < to ? b : to;
  };
  for (const { op, value } of bounds) {
    const v = toMicros(value);
    if (op === "gte" || op === "eq") lower(v);
    if (op === "gt") lower(v + step);
    if (op === "lte" || op === "eq") upper(v);
    if (op === "lt") upper(v - step);
  }
  return { from, to };
}
