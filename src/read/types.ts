/**
 * ClickHouse column types as the read API sees them: which family a column belongs
 * to, which canonical type its values are bound as ({p0:Type}), and whether a text
 * value from a request is a valid value of it. Pure code; no I/O.
 *
 * The canonical bind type is rebuilt from the parsed type (never the raw metadata
 * text), so nothing but a fixed set of type names ever reaches SQL.
 */

export type TypeFamily =
  | "int"
  | "uint"
  | "float"
  | "decimal"
  | "string"
  | "uuid"
  | "date"
  | "datetime"
  | "bool"
  | "enum"
  | "other";

export interface ScalarType {
  family: TypeFamily;
  /** Type used for a bound parameter compared with this column; undefined when the column cannot be filtered. */
  bindType?: string;
  nullable: boolean;
  /** For decimals: precision and scale. */
  precision?: number;
  scale?: number;
  /** For integers: bit width. */
  bits?: number;
}

const WRAPPER = /^(Nullable|LowCardinality)\((.*)\)$/;

/** Parses a ClickHouse type name (from system.columns) into its family and bind type. */
export function parseColumnType(raw: string): ScalarType {
  let t = raw.trim();
  let nullable = false;
  for (let m = WRAPPER.exec(t); m; m = WRAPPER.exec(t)) {
    if (m[1] === "Nullable") nullable = true;
    t = (m[2] ?? "").trim();
  }
  const int = /^(U?)Int(8|16|32|64|128|256)$/.exec(t);
  if (int) {
    const unsigned = int[1] === "U";
    const bits = Number(int[2]);
    return { family: unsigned ? "uint" : "int", bindType: `${unsigned ? "U" : ""}Int${bits}`, nullable, bits };
  }
  const float = /^Float(32|64)$/.exec(t);
  if (float) return { family: "float", bindType: `Float${float[1]}`, nullable };
  const dec = /^Decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(t);
  if (dec) {
    const precision = Number(dec[1]);
    const scale = Number(dec[2]);
    return { family: "decimal", bindType: `Decimal(${precision}, ${scale})`, nullable, precision, scale };
  }
  const decN = /^Decimal(32|64|128|256)\(\s*(\d+)\s*\)$/.exec(t);
  if (decN) {
    const precision = { "32": 9, "64": 18, "128": 38, "256": 76 }[decN[1] as "32"];
    const scale = Number(decN[2]);
    return { family: "decimal", bindType: `Decimal(${precision}, ${scale})`, nullable, precision, scale };
  }
  if (t === "String" || /^FixedString\(\d+\)$/.test(t)) return { family: "string", bindType: "String", nullable };
  if (t === "UUID") return { family: "uuid", bindType: "UUID", nullable };
  if (t === "Date" || t === "Date32") return { family: "date", bindType: "Date32", nullable };
  if (/^DateTime(\(\s*'[^']*'\s*\))?$/.test(t) || /^DateTime64\(\s*\d+\s*(,\s*'[^']*'\s*)?\)$/.test(t)) {
    return { family: "datetime", bindType: "DateTime64(6, 'UTC')", nullable };
  }
  if (t === "Bool" || t === "Boolean") return { family: "bool", bindType: "Bool", nullable };
  if (/^Enum(8|16)\(/.test(t)) return { family: "enum", bindType: "String", nullable };
  return { family: "other", nullable };
}

/** Families whose values can be filtered on, ordered by and compared. */
export function isComparable(t: ScalarType): boolean {
  return t.family !== "other";
}

/** Families sum/avg accept. */
export function isNumeric(t: ScalarType): boolean {
  return t.family === "int" || t.family === "uint" || t.family === "float" || t.family === "decimal";
}

/** Families with a meaningful order for range filters (<, <=, >, >=). */
export function isOrderable(t: ScalarType): boolean {
  return t.family !== "other" && t.family !== "bool";
}

const MAX_STRING = 4096;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export type ValueCheck = { ok: true; value: string } | { ok: false; reason: string };

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/**
 * ISO 8601 (date, date-time, optional fraction up to 9 digits, optional Z or ±hh:mm)
 * → `YYYY-MM-DD hh:mm:ss.ffffff` in UTC, the text form a DateTime64(6, 'UTC') parameter takes.
 * A time without a zone is UTC. Returns undefined for anything else or an impossible date.
 */
export function toUtcDateTime64(text: string): string | undefined {
  const m = DATETIME.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h = "0", mi = "0", s = "0"] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(
    (x) => x ?? undefined,
  ) as string[];
  const frac = (m[7] ?? "").padEnd(6, "0").slice(0, 6);
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (year < 1900 || year > 2299) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== "Z") {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
    if (!zm) return undefined;
    const offset = (Number(zm[2]) * 60 + Number(zm[3] ?? "0")) * 60_000;
    if (offset > 14 * 3_600_000) return undefined;
    ms += zm[1] === "+" ? -offset : offset;
  }
  const t = new Date(ms);
  if (Number.isNaN(t.getTime()) || t.getUTCFullYear() < 1900 || t.getUTCFullYear() > 2299) return undefined;
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(
    t.getUTCMinutes(),
  )}:${pad(t.getUTCSeconds())}.${frac}`;
}

/** Checks a request's text value against a column type; returns the text to bind. */
export function checkValue(t: ScalarType, text: string): ValueCheck {
  switch (t.family) {
    case "int":
    case "uint": {
      if (!/^-?\d{1,80}$/.test(text)) return { ok: false, reason: "must be an integer" };
      const v = BigInt(text);
      const bits = BigInt(t.bits ?? 64);
      const min = t.family === "uint" ? 0n : -(1n << (bits - 1n));
      const max = t.family === "uint" ? (1n << bits) - 1n : (1n << (bits - 1n)) - 1n;
      if (v < min || v > max) return { ok: false, reason: `must be between ${min} and ${max}` };
      return { ok: true, value: v.toString() };
    }
    case "float": {
      if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text) || !Number.isFinite(Number(text))) {
        return { ok: false, reason: "must be a finite number" };
      }
      return { ok: true, value: text };
    }
    case "decimal": {
      const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
      if (!m) return { ok: false, reason: "must be a decimal number like 12.34" };
      const intDigits = (m[2] ?? "").replace(/^0+(?=\d)/, "");
      const frac = m[3] ?? "";
      const p = t.precision ?? 38;
      const s = t.scale ?? 0;
      if (frac.length > s) return { ok: false, reason: `must have at most ${s} decimal places` };
      if (intDigits.length > p - s) return { ok: false, reason: `must have at most ${p - s} digits before the point` };
      return { ok: true, value: `${m[1]}${intDigits}${frac ? `.${frac}` : ""}` };
    }
    case "string":
    case "enum": {
      if (text.length > MAX_STRING) return { ok: false, reason: `must be at most ${MAX_STRING} characters` };
      if (text.includes("\u0000")) return { ok: false, reason: "must not contain NUL characters" };
      return { ok: true, value: text };
    }
    case "uuid":
      return UUID.test(text) ? { ok: true, value: text.toLowerCase() } : { ok: false, reason: "must be a UUID" };
    case "date": {
      const m = DATE.exec(text);
      const iso = m ? toUtcDateTime64(text) : undefined;
      return iso ? { ok: true, value: iso.slice(0, 10) } : { ok: false, reason: "must be a date YYYY-MM-DD" };
    }
    case "datetime": {
      const v = toUtcDateTime64(text);
      return v
        ? { ok: true, value: v }
        : { ok: false, reason: "must be an ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z" };
    }
    case "bool":
      if (/^(true|1)$/i.test(text)) return { ok: true, value: "true" };
      if (/^(false|0)$/i.test(text)) return { ok: true, value: "false" };
      return { ok: false, reason: "must be true or false" };
    default:
      return { ok: false, reason: "this column's type cannot be filtered on" };
  }
}
