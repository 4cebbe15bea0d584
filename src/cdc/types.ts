import type { ConnectSchema } from "./envelope.js";

/**
 * Debezium (Kafka Connect) field schema → ClickHouse column type and value converter.
 *
 * Relies on these connector settings (connectors/shop.json):
 * - decimal.handling.mode=string: numerics arrive as exact decimal text, never a float.
 * - column.propagate.source.type=.*: each field carries __debezium.source.column.type/length/scale,
 *   so numeric(p,s) becomes Decimal(p,s) and bytea is told apart from text.
 * - time.precision.mode=adaptive_time_microseconds: time → MicroTime, timestamp(0-3) → Timestamp (ms),
 *   timestamp(4-6) → MicroTimestamp; timestamptz → ZonedTimestamp text in UTC.
 * - interval.handling.mode=string (ISO 8601 text), binary.handling.mode=hex (bytea as hex text).
 *
 * Choices (exact round trip first):
 * | Postgres                   | ClickHouse                                  | value                                   |
 * | smallint/int/bigint        | Int16/Int32/Int64                           | as is (int64 may arrive as text)        |
 * | numeric(p,s), p ≤ 76       | Decimal(p,s)                                | decimal text                            |
 * | numeric (no precision), money | String                                   | decimal text, exact; NaN, Infinity, -Infinity as Postgres writes them |
 * | real/double                | Float32/Float64                             | as is                                   |
 * | boolean                    | Bool                                        |                                         |
 * | text/varchar/char          | String                                      | char(n) keeps its padding               |
 * | uuid                       | UUID                                        |                                         |
 * | date                       | Date32                                      | 'YYYY-MM-DD' (1900-01-01..2299-12-31)   |
 * | time(p)                    | Time64(6)                                   | 'HH:MM:SS.ffffff' (24:00:00 kept)       |
 * | timestamp(p)               | DateTime64(3|6,'UTC')                       | wall clock as UTC                       |
 * | timestamptz                | DateTime64(6,'UTC')                         | microseconds kept                       |
 * | timetz, interval           | String                                      | Debezium's text (interval: ISO 8601)    |
 * | json/jsonb, xml            | String                                      | Postgres' text                          |
 * | bytea                      | String                                      | lowercase hex, exact                    |
 * | enum                       | LowCardinality(String)                      | label                                   |
 * | T[]                        | Array(T) (NOT NULL) / Variant(Array(T)) (nullable: ClickHouse has no Nullable(Array)) |
 * | bit(1) / bit(n), varbit    | Bool / String                               | '0101…' (varbit: Debezium drops leading zeros) |
 * | point                      | String                                      | '(x,y)'                                 |
 * | line … circle, tsquery, multiranges | String                             | Postgres' text (Debezium sends it as bytes) |
 * | anything else (struct/map) | String                                      | JSON text                               |
 * Values a native type cannot hold (NaN in Decimal, ±infinity and dates outside 1900..2299) are
 * refused with a ConversionError (dead-lettered), never stored as another value; preflight names
 * the columns where that can happen (src/attach/type-report.ts).
 * Optional fields are Nullable(...), key columns never.
 */
export const TOAST_PLACEHOLDER = "__debezium_unavailable_value";
const TOAST_HEX = Buffer.from(TOAST_PLACEHOLDER, "utf8").toString("hex");

/** Returned by a converter for an unchanged TOASTed value: keep the last known value. */
export const UNAVAILABLE: unique symbol = Symbol("debezium-unavailable-value");

export class ConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConversionError";
  }
}

export interface ColumnType {
  /** ClickHouse type, Nullable/Variant wrapping included. */
  sql: string;
  /** The type without Nullable (for typed query parameters). */
  baseSql: string;
  nullable: boolean;
  /** Debezium value → JSONEachRow value; throws ConversionError; UNAVAILABLE for TOAST placeholders. */
  convert: (value: unknown) => unknown;
}

type Conv = (value: unknown) => unknown;

const MAX_DECIMAL_PRECISION = 76;

/** Maps one field schema. `key` columns are never Nullable. */
export function columnType(schema: ConnectSchema, opts: { key?: boolean } = {}): ColumnType {
  const nullable = !opts.key && schema.optional === true;
  const base = baseType(schema);
  let sql: string;
  if (!nullable) sql = base.sql;
  else if (base.sql.startsWith("Array(")) sql = `Variant(${base.sql})`;
  else if (base.sql.startsWith("LowCardinality(")) sql = `LowCardinality(Nullable(${base.sql.slice(15, -1)}))`;
  else sql = `Nullable(${base.sql})`;
  const inner = base.convert;
  const name = schema.field ?? "(field)";
  const convert: Conv = (value) => {
    if (value === null || value === undefined) {
      if (nullable) return null;
      throw new ConversionError(`${name}: NULL in a column that is not nullable`);
    }
    try {
      return inner(value);
    } catch (err) {
      if (err instanceof ConversionError) throw new ConversionError(`${name}: ${err.message}`);
      throw err;
    }
  };
  return { sql, baseSql: base.sql, nullable, convert };
}

function sourceType(schema: ConnectSchema): { type?: string; length?: number; scale?: number } {
  const p = schema.parameters ?? {};
  const length = p["__debezium.source.column.length"];
  const scale = p["__debezium.source.column.scale"];
  return {
    type: p["__debezium.source.column.type"]?.toUpperCase(),
    length: length === undefined ? undefined : Number(length),
    scale: scale === undefined ? undefined : Number(scale),
  };
}

function baseType(schema: ConnectSchema): { sql: string; convert: Conv } {
  switch (schema.name) {
    case "io.debezium.time.Date":
      return { sql: "Date32", convert: toast(convertDate) };
    case "io.debezium.time.Time":
      return { sql: "Time64(3)", convert: (v) => formatTime(toBig(v) * 1000n, 3) };
    case "io.debezium.time.MicroTime":
      return { sql: "Time64(6)", convert: (v) => formatTime(toBig(v), 6) };
    case "io.debezium.time.NanoTime":
      return { sql: "Time64(9)", convert: (v) => formatTime(toBig(v) / 1000n, 6) };
    case "io.debezium.time.Timestamp":
      return { sql: "DateTime64(3, 'UTC')", convert: (v) => formatEpoch(toBig(v), 3) };
    case "io.debezium.time.MicroTimestamp":
      return { sql: "DateTime64(6, 'UTC')", convert: (v) => formatEpoch(toBig(v), 6) };
    case "io.debezium.time.NanoTimestamp":
      return { sql: "DateTime64(9, 'UTC')", convert: (v) => formatEpoch(toBig(v), 9) };
    case "io.debezium.time.ZonedTimestamp":
      return { sql: "DateTime64(6, 'UTC')", convert: toast(convertZonedTimestamp) };
    case "io.debezium.time.Interval":
      return { sql: "String", convert: toast(convertInterval) };
    case "io.debezium.data.Uuid":
      return { sql: "UUID", convert: toast(convertUuid) };
    case "io.debezium.data.Enum":
      return { sql: "LowCardinality(String)", convert: toast(asString) };
    case "io.debezium.time.MicroDuration":
      return { sql: "Int64", convert: convertInt64 };
    case "io.debezium.data.Bits": {
      // bit(n): Debezium's `length` is n, so leading zeros come back; varbit's length is not sent.
      const src = sourceType(schema);
      const width = src.type === "BIT" ? Number(schema.parameters?.length ?? 0) : 0;
      return { sql: "String", convert: toast((v) => convertBits(v, width)) };
    }
    case "io.debezium.data.geometry.Point":
      return { sql: "String", convert: toast(convertPoint) };
    case "org.apache.kafka.connect.data.Decimal":
      // MySQL's BIGINT UNSIGNED with bigint.unsigned.handling.mode=precise: the only binary decimal
      // the connectors send (decimal.handling.mode=string covers DECIMAL columns).
      if (isUnsignedBigint(schema)) return { sql: "UInt64", convert: convertUnsignedBigint };
      throw new ConversionError(
        `${schema.name} (binary decimal) is not supported: set decimal.handling.mode=string on the connector`,
      );
    case "io.debezium.data.VariableScaleDecimal":
      throw new ConversionError(
        `${schema.name} (binary decimal) is not supported: set decimal.handling.mode=string on the connector`,
      );
    default:
      break;
  }
  const src = sourceType(schema);
  if (schema.type === "string" && (src.type === "NUMERIC" || src.type === "DECIMAL")) {
    const p = src.length ?? 0;
    const s = src.scale;
    if (p >= 1 && p <= MAX_DECIMAL_PRECISION && s !== undefined && s >= 0 && s <= p) {
      return { sql: `Decimal(${p}, ${s})`, convert: toast(convertDecimal) };
    }
    return { sql: "String", convert: toast(convertNumericText) };
  }
  if (schema.type === "string" && src.type !== undefined && TEXT_AS_BYTES.has(src.type)) {
    return { sql: "String", convert: toast(convertHexText) };
  }
  switch (schema.type) {
    case "int8":
      return { sql: "Int8", convert: convertSafeInt };
    case "int16":
      return { sql: "Int16", convert: convertSafeInt };
    case "int32":
      return { sql: "Int32", convert: convertSafeInt };
    case "int64":
      return { sql: "Int64", convert: convertInt64 };
    case "float":
    case "float32":
      return { sql: "Float32", convert: convertFloat };
    case "double":
    case "float64":
      return { sql: "Float64", convert: convertFloat };
    case "boolean":
      return { sql: "Bool", convert: convertBool };
    case "string":
      if (src.type === "BYTEA") return { sql: "String", convert: convertHex };
      return { sql: "String", convert: toast(asString) };
    case "bytes":
      return { sql: "String", convert: toast(asString) };
    case "array": {
      if (!schema.items) throw new ConversionError("array schema without items");
      const item = columnType(schema.items);
      if (item.sql.startsWith("Variant(")) throw new ConversionError("nested nullable arrays are not supported");
      return {
        sql: `Array(${item.sql})`,
        convert: (v) => {
          if (!Array.isArray(v)) throw new ConversionError(`expected an array, got ${typeof v}`);
          if (v.length === 1 && (v[0] === TOAST_PLACEHOLDER || v[0] === TOAST_HEX)) return UNAVAILABLE;
          return v.map((x) => item.convert(x));
        },
      };
    }
    default:
      // struct, map and anything new: exact JSON text.
      return { sql: "String", convert: (v) => (v === TOAST_PLACEHOLDER ? UNAVAILABLE : JSON.stringify(v)) };
  }
}

const isUnsignedBigint = (schema: ConnectSchema) =>
  sourceType(schema).type === "BIGINT UNSIGNED" && (schema.parameters?.scale ?? "0") === "0";

/** A Connect Decimal of scale 0 (big-endian two's complement, base64 in JSON) → UInt64 text. */
export function convertUnsignedBigint(v: unknown): string {
  if (typeof v !== "string") throw new ConversionError(`expected base64 decimal bytes, got ${JSON.stringify(v)}`);
  const bytes = Buffer.from(v, "base64");
  if (bytes.length === 0) throw new ConversionError("empty decimal bytes");
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  if ((bytes[0] as number) & 0x80) n -= 1n << BigInt(bytes.length * 8);
  if (n < 0n || n >= 1n << 64n) throw new ConversionError(`${n} is outside BIGINT UNSIGNED`);
  return n.toString();
}

function toast(conv: Conv): Conv {
  return (v) => (v === TOAST_PLACEHOLDER ? UNAVAILABLE : conv(v));
}

function asString(v: unknown): string {
  if (typeof v !== "string") throw new ConversionError(`expected text, got ${typeof v}`);
  return v;
}

function toBig(v: unknown): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === "bigint") return v;
  throw new ConversionError(`expected an integer, got ${JSON.stringify(v)}`);
}

function convertSafeInt(v: unknown): number {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  throw new ConversionError(`expected an integer, got ${JSON.stringify(v)}`);
}

/** Int64 travels as text into ClickHouse so no digit is lost on the way. */
function convertInt64(v: unknown): string | number {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  return toBig(v).toString();
}

function convertFloat(v: unknown): number | string {
  if (typeof v === "number") return v;
  // Debezium writes special values as text in some versions.
  if (v === "NaN") return "nan";
  if (v === "Infinity") return "inf";
  if (v === "-Infinity") return "-inf";
  throw new ConversionError(`expected a number, got ${JSON.stringify(v)}`);
}

function convertBool(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  throw new ConversionError(`expected a boolean, got ${JSON.stringify(v)}`);
}

const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;
/** Debezium's names for numeric's special values (decimal.handling.mode=string) → Postgres' text. */
const NUMERIC_SPECIAL: Record<string, string> = {
  NAN: "NaN",
  POSITIVE_INFINITY: "Infinity",
  NEGATIVE_INFINITY: "-Infinity",
  NaN: "NaN",
  Infinity: "Infinity",
  "-Infinity": "-Infinity",
};

function convertDecimal(v: unknown): string {
  if (typeof v === "string" && Object.hasOwn(NUMERIC_SPECIAL, v)) {
    throw new ConversionError(`${NUMERIC_SPECIAL[v]} has no ClickHouse Decimal form`);
  }
  if (typeof v !== "string" || !DECIMAL_TEXT.test(v)) {
    throw new ConversionError(`expected decimal text, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** numeric without precision (String): decimal text, or NaN/Infinity/-Infinity as Postgres writes them. */
function convertNumericText(v: unknown): string {
  if (typeof v === "string" && Object.hasOwn(NUMERIC_SPECIAL, v)) return NUMERIC_SPECIAL[v] as string;
  if (typeof v !== "string" || !DECIMAL_TEXT.test(v)) {
    throw new ConversionError(`expected decimal text, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Built-in types Debezium does not model: with include.unknown.datatypes it sends their text form
 * as bytes (hex here, binary.handling.mode=hex). Only unquoted built-in names are listed: a
 * user-defined type (quoted "schema"."name") may be a plain text domain, so its value stays as sent.
 */
export const TEXT_AS_BYTES = new Set([
  "LINE",
  "LSEG",
  "BOX",
  "PATH",
  "POLYGON",
  "CIRCLE",
  "TSQUERY",
  "INT4MULTIRANGE",
  "INT8MULTIRANGE",
  "NUMMULTIRANGE",
  "TSMULTIRANGE",
  "TSTZMULTIRANGE",
  "DATEMULTIRANGE",
]);

function convertHexText(v: unknown): string {
  if (typeof v !== "string" || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) {
    throw new ConversionError(`expected hex text, got ${JSON.stringify(v)}`);
  }
  return Buffer.from(v, "hex").toString("utf8");
}

/** io.debezium.data.Bits: the bits as little-endian bytes (base64 in JSON) → '0101…' text. */
export function convertBits(v: unknown, width: number): string {
  if (typeof v !== "string") throw new ConversionError(`expected base64 bits, got ${JSON.stringify(v)}`);
  const bytes = Buffer.from(v, "base64");
  let bits = "";
  for (let i = bytes.length - 1; i >= 0; i--) bits += (bytes[i] as number).toString(2).padStart(8, "0");
  // varbit: the length is not sent, so leading zeros are gone, all of them: Debezium sends a zero
  // as no bytes, so B'0' is '' however it arrives (preflight names such columns).
  bits = bits.replace(/^0+/, "");
  if (width > 0) {
    if (bits.replace(/^0+/, "").length > width) throw new ConversionError(`bit string longer than bit(${width})`);
    return bits.replace(/^0+/, "").padStart(width, "0");
  }
  return bits;
}

/** io.debezium.data.geometry.Point {x, y, wkb, srid} → Postgres' '(x,y)'. */
function convertPoint(v: unknown): string {
  const p = v as { x?: unknown; y?: unknown } | null;
  if (!p || typeof p.x !== "number" || typeof p.y !== "number") {
    throw new ConversionError(`expected a point {x, y}, got ${JSON.stringify(v)}`);
  }
  return `(${p.x},${p.y})`;
}

function convertHex(v: unknown): unknown {
  if (v === TOAST_PLACEHOLDER || v === TOAST_HEX) return UNAVAILABLE;
  if (typeof v !== "string" || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) {
    throw new ConversionError("expected hex text for bytea (binary.handling.mode=hex)");
  }
  return v.toLowerCase();
}

/** UUID_TEXT without a regular expression (the projector checks one per row and column). */
function isUuidText(v: string): boolean {
  if (v.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false; // -
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}
const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
function convertUuid(v: unknown): string {
  if (typeof v !== "string" || !(isUuidText(v) || UUID_TEXT.test(v)))
    throw new ConversionError(`expected a uuid, got ${JSON.stringify(v)}`);
  return v.toLowerCase();
}

const pad = (n: number | bigint, width: number) => n.toString().padStart(width, "0");

// ClickHouse Date32 and DateTime64 cover 1900-01-01 .. 2299-12-31; outside that ClickHouse would
// clamp silently, so such values are refused (dead-lettered) instead.
const MIN_DAY = -25567; // 1900-01-01
const MAX_DAY = 120529; // 2299-12-31

function convertDate(v: unknown): string {
  const days = Number(toBig(v));
  if (days < MIN_DAY || days > MAX_DAY)
    throw new ConversionError(
      `date out of ClickHouse's range 1900-01-01..2299-12-31 (day ${days}; ±infinity arrives as such a day)`,
    );
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

// ClickHouse's Time64 spans ±999:59:59.999999: Postgres' time (0..24:00) and MySQL's TIME, a signed
// duration (-838:59:59..838:59:59), both fit.
const MAX_TIME_US = 1000n * 3600n * 1_000_000n - 1n;

function formatTime(signed: bigint, digits: 3 | 6): string {
  if (signed < -MAX_TIME_US || signed > MAX_TIME_US) throw new ConversionError(`time out of range (${signed} µs)`);
  const micros = signed < 0n ? -signed : signed;
  const secs = micros / 1_000_000n;
  const frac = micros % 1_000_000n;
  const h = secs / 3600n;
  const m = (secs % 3600n) / 60n;
  const s = secs % 60n;
  const fracText = digits === 3 ? pad(frac / 1000n, 3) : pad(frac, 6);
  return `${signed < 0n ? "-" : ""}${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${fracText}`;
}

/** Epoch value in 10^-digits seconds → 'YYYY-MM-DD HH:MM:SS.fff…' in UTC, exact. */
export function formatEpoch(value: bigint, digits: 3 | 6 | 9): string {
  const unit = 10n ** BigInt(digits);
  let secs = value / unit;
  let frac = value % unit;
  if (frac < 0n) {
    frac += unit;
    secs -= 1n;
  }
  const days = Number(secs >= 0n ? secs / 86400n : (secs - 86399n) / 86400n);
  if (days < MIN_DAY || days > MAX_DAY) throw new ConversionError(`timestamp out of ClickHouse's range (${value})`);
  const d = new Date(Number(secs) * 1000);
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${pad(frac, digits)}`;
}

const ZONED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
/** Whether v[from, to) are all ASCII digits. */
function digitsAt(v: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function convertZonedTimestamp(v: unknown): string {
  if (typeof v !== "string") throw new ConversionError(`expected a timestamp text, got ${typeof v}`);
  // Debezium's usual form, YYYY-MM-DDTHH:MM:SS.ffffffZ, without the regular expression; the same result.
  if (
    v.length === 27 &&
    v.charCodeAt(4) === 45 && // -
    v.charCodeAt(7) === 45 &&
    v.charCodeAt(10) === 84 && // T
    v.charCodeAt(13) === 58 && // :
    v.charCodeAt(16) === 58 &&
    v.charCodeAt(19) === 46 && // .
    v.charCodeAt(26) === 90 && // Z
    digitsAt(v, 0, 4) &&
    digitsAt(v, 5, 7) &&
    digitsAt(v, 8, 10) &&
    digitsAt(v, 11, 13) &&
    digitsAt(v, 14, 16) &&
    digitsAt(v, 17, 19) &&
    digitsAt(v, 20, 26)
  ) {
    const year = Number(v.slice(0, 4));
    if (year >= 1900 && year <= 2299) return `${v.slice(0, 10)} ${v.slice(11, 26)}`;
  }
  if (v === "infinity" || v === "-infinity")
    throw new ConversionError(`timestamptz ${v} has no ClickHouse DateTime64 form`);
  const m = ZONED.exec(v);
  if (!m) throw new ConversionError(`unsupported timestamptz text ${JSON.stringify(v)} (expected UTC ISO 8601)`);
  const year = Number(m[1]);
  if (year < 1900 || year > 2299) throw new ConversionError(`timestamptz out of ClickHouse's range (${v})`);
  const frac = (m[7] ?? "").padEnd(6, "0").slice(0, 6);
  if ((m[7] ?? "").length > 6 && /[1-9]/.test((m[7] ?? "").slice(6))) {
    throw new ConversionError(`timestamptz finer than microseconds (${v})`);
  }
  return `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}.${frac}`;
}

const DBZ_INTERVAL = /^P(-?\d+)Y(-?\d+)M(-?\d+)DT(-?\d+)H(-?\d+)M(-?\d+(?:\.\d+)?)S$/;

/**
 * Debezium writes every field of an interval ("P0Y0M-1DT0H0M-1.5S"); Postgres' own ISO 8601
 * style (intervalstyle = iso_8601) leaves zero fields out ("P-1DT-1.5S"). The projection keeps
 * Postgres' form, so a value reads the same on both sides. Other text passes through unchanged.
 */
export function normaliseInterval(text: string): string {
  const m = DBZ_INTERVAL.exec(text);
  if (!m) return text;
  const [, y, mo, d, h, mi, s] = m as unknown as string[];
  const num = (v: string) => (/^-?0+(\.0+)?$/.test(v) ? "" : v.replace(/^(-?)0+(?=\d)/, "$1"));
  const sec = (v: string) => num(v.includes(".") ? v.replace(/0+$/, "").replace(/\.$/, "") : v);
  const date = [
    num(y as string) && `${num(y as string)}Y`,
    num(mo as string) && `${num(mo as string)}M`,
    num(d as string) && `${num(d as string)}D`,
  ].join("");
  const time = [
    num(h as string) && `${num(h as string)}H`,
    num(mi as string) && `${num(mi as string)}M`,
    sec(s as string) && `${sec(s as string)}S`,
  ].join("");
  if (!date && !time) return "PT0S";
  return `P${date}${time ? `T${time}` : ""}`;
}

function convertInterval(v: unknown): string {
  return normaliseInterval(asString(v));
}

/** Microseconds since the epoch → DateTime64(6,'UTC') text (for _commit_ts). */
export function formatMicros(us: bigint): string {
  return formatEpoch(us, 6);
}
