import type { ColumnSpec } from "../cdc/table.js";
import { normaliseInterval } from "../cdc/types.js";
import type { CatalogColumn } from "./catalog.js";

/**
 * The canonical text of a value for verify: each column type's values from Postgres (text output)
 * and from ClickHouse (JSON) are written the same way when they are the same value, following the
 * projector's type mapping (src/cdc/types.ts); and the key order both sides are read in.
 */

export type ValueKind =
  | "int"
  | "decimal"
  | "float32"
  | "float64"
  | "bool"
  | "date"
  | "time"
  | "timestamp"
  | "uuid"
  | "bytea"
  | "interval"
  | "bit1"
  | "varbit"
  | "timetz"
  | "geometric"
  | "hstore"
  | "hextext"
  | "text";

export interface ColumnPlan {
  name: string;
  kind: ValueKind;
  /** Array of `kind` elements. */
  array: boolean;
  catalog: CatalogColumn;
  spec: ColumnSpec;
}

function scalarKind(type: string, typeKind: string | undefined, typmod = -1): ValueKind {
  if (typeKind === "e") return "text";
  // Debezium sends a composite (an unknown type to it) as the bytes of its text: kept as that hex.
  if (typeKind === "c") return "hextext";
  switch (type) {
    case "int2":
    case "int4":
    case "int8":
    case "oid":
      return "int";
    case "numeric":
    case "money":
      return "decimal";
    case "float4":
      return "float32";
    case "float8":
      return "float64";
    case "bool":
      return "bool";
    case "date":
      return "date";
    case "time":
      return "time";
    case "timestamp":
    case "timestamptz":
      return "timestamp";
    case "uuid":
      return "uuid";
    case "bytea":
      return "bytea";
    case "interval":
      return "interval";
    case "bit":
      return typmod === 1 ? "bit1" : "text";
    case "varbit":
      return "varbit";
    case "timetz":
      return "timetz";
    case "point":
    case "line":
    case "lseg":
    case "box":
    case "path":
    case "polygon":
    case "circle":
      return "geometric";
    case "hstore":
      return "hstore";
    default:
      return "text";
  }
}

export function planColumn(c: CatalogColumn, spec: ColumnSpec): ColumnPlan {
  const array = c.elemType !== undefined;
  // An array of a domain: Debezium sends each element as the hex of its text.
  const kind = array
    ? c.elemOwnKind === "d"
      ? "hextext"
      : scalarKind(c.elemType as string, c.elemKind)
    : scalarKind(c.baseType, c.baseKind, c.typmod);
  return { name: c.name, kind, array, catalog: c, spec };
}

const pad6 = (frac: string | undefined) => (frac ?? "").padEnd(6, "0").slice(0, 6);

/** Decimal text without insignificant zeros ("1.50" → "1.5", "-0.0" → "0"). */
export function normDecimal(text: string): string {
  let t = text.trim();
  if (!/^[+-]?\d+(\.\d*)?$/.test(t)) return t; // NaN, Infinity
  if (t.startsWith("+")) t = t.slice(1);
  const neg = t.startsWith("-");
  if (neg) t = t.slice(1);
  let [int = "0", frac = ""] = t.split(".");
  int = int.replace(/^0+(?=\d)/, "");
  frac = frac.replace(/0+$/, "");
  const out = frac ? `${int}.${frac}` : int;
  return neg && out !== "0" ? `-${out}` : out;
}

/** 'YYYY-MM-DD HH:MM:SS.ffffff' from Postgres (UTC, ISO), to_json or ClickHouse text. */
export function normTimestamp(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:Z|[+-]00(?::?00)?)?$/.exec(text);
  if (!m) return text;
  return `${m[1]} ${m[2]}.${pad6(m[3])}`;
}

/** Float text from Postgres ('NaN', 'Infinity') or ClickHouse ('nan', 'inf', quoted denormals) → one form. */
function floatText(s: string, round: (n: number) => number): string {
  const t = s.toLowerCase().replace(/^\+/, "");
  if (t === "nan" || t === "-nan") return "NaN";
  if (t === "inf" || t === "infinity") return "Infinity";
  if (t === "-inf" || t === "-infinity") return "-Infinity";
  return String(round(Number(s)));
}

/**
 * timetz: Debezium sends the time in UTC ('07:04:56.789Z'), the offset is not carried (preflight
 * says so). Postgres' '12:34:56.789+05:30' is compared as the same UTC time: 'HH:MM:SS.ffffffZ'.
 */
export function normTimetz(text: string): string {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)$/.exec(text);
  if (!m) return text;
  let secs = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  const zone = m[5] as string;
  if (zone !== "Z") {
    const [zh = "0", zm = "0", zs = "0"] = zone.slice(1).split(/:|(?<=^\d{2})(?=\d)/);
    const off = Number(zh) * 3600 + Number(zm) * 60 + Number(zs);
    secs -= zone.startsWith("-") ? -off : off;
  }
  secs = ((secs % 86400) + 86400) % 86400;
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${p2(Math.floor(secs / 3600))}:${p2(Math.floor((secs % 3600) / 60))}:${p2(secs % 60)}.${pad6(m[4])}Z`;
}

/** Geometric text: every number as the float it denotes ('{1.0,-1.0,0.0}' and '{1,-1,0}' are one line). */
export function normGeometric(text: string): string {
  return text.replace(/-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?/gi, (n) => String(Number(n)));
}

/** hstore: Postgres' '"a"=>"1", "b"=>NULL' or Debezium's JSON object → sorted [key, value] pairs. */
export function normHstore(text: string): string {
  let pairs: [string, string | null][];
  if (text.startsWith("{")) {
    pairs = Object.entries(JSON.parse(text) as Record<string, string | null>);
  } else {
    pairs = [];
    const unq = (q: string) => q.slice(1, -1).replace(/\\(.)/g, "$1");
    const re = /("(?:[^"\\]|\\.)*")\s*=>\s*(NULL|"(?:[^"\\]|\\.)*")/g;
    for (const m of text.matchAll(re)) pairs.push([unq(m[1] as string), m[2] === "NULL" ? null : unq(m[2] as string)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify(pairs);
}

export function normTime(text: string): string {
  // MySQL's TIME is a signed duration up to 838 hours.
  const m = /^(-?\d{2,3}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(text);
  return m ? `${m[1]}.${pad6(m[2])}` : text;
}

/** One value in its canonical text (null stays null), the same for either side. */
export function canonical(kind: ValueKind, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = typeof v === "string" ? v : String(v);
  switch (kind) {
    case "int":
      return /^-?\d+$/.test(s) ? BigInt(s).toString() : s;
    case "decimal":
      return normDecimal(s);
    case "float32":
      return floatText(s, Math.fround);
    case "float64":
      return floatText(s, (n) => n);
    case "bool":
      return v === true || s === "t" || s === "true" ? "true" : "false";
    case "bit1":
      // bit(1) is a boolean to Debezium: Postgres' '1'/'0' against ClickHouse's Bool.
      return v === true || s === "1" || s === "true" ? "true" : "false";
    case "varbit":
      // Debezium does not carry a varbit's length: its form is the bits without leading zeros
      // (zero: ''), on both sides (types.ts convertBits, render.ts).
      return s.replace(/^0+/, "");
    case "timetz":
      return normTimetz(s);
    case "geometric":
      return normGeometric(s);
    case "hstore":
      return normHstore(s);
    case "hextext":
      return s; // Postgres' side is turned into hex first (canonicalValue)
    case "date":
      return s.slice(0, 10);
    case "time":
      return normTime(s);
    case "timestamp":
      return normTimestamp(s);
    case "uuid":
      return s.toLowerCase();
    case "bytea":
      return s.replace(/^\\x/, "").toLowerCase();
    case "interval":
      return normaliseInterval(s);
    default:
      return s;
  }
}

export function canonicalValue(col: ColumnPlan, v: unknown, side: "pg" | "ch"): string | null {
  // hextext: Postgres' text against the hex of that text, which is what Debezium sent and ClickHouse holds.
  const one = (x: unknown) =>
    canonical(col.kind, col.kind === "hextext" && side === "pg" && typeof x === "string" ? toHex(x) : x);
  if (!col.array) return one(v);
  if (v === null || v === undefined) return null;
  const list = side === "pg" ? (JSON.parse(String(v)) as unknown) : v;
  // A multi-dimensional array is read as its whole text (see pgSelect): never equal to a flat list.
  if (!Array.isArray(list)) return `multi-dimensional ${String(list)}`;
  return JSON.stringify(list.map(one));
}

const toHex = (text: string) => Buffer.from(text, "utf8").toString("hex");

/** Key order as ClickHouse sorts (see the header comment). */
export function compareKeys(kinds: ValueKind[], a: (string | null)[], b: (string | null)[]): number {
  for (let i = 0; i < kinds.length; i++) {
    const c = compareOne(kinds[i] as ValueKind, a[i] ?? "", b[i] ?? "");
    if (c !== 0) return c;
  }
  return 0;
}

function compareOne(kind: ValueKind, a: string, b: string): number {
  switch (kind) {
    case "int": {
      const x = BigInt(a);
      const y = BigInt(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case "decimal":
      return compareDecimal(a, b);
    case "float32":
    case "float64":
      return Number(a) - Number(b);
    case "uuid":
      return Buffer.compare(Buffer.from(a.slice(19) + a.slice(0, 18)), Buffer.from(b.slice(19) + b.slice(0, 18)));
    default:
      return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
  }
}

function compareDecimal(a: string, b: string): number {
  const [ai = "0", af = ""] = a.split(".");
  const [bi = "0", bf = ""] = b.split(".");
  const scale = Math.max(af.length, bf.length);
  const x = BigInt(ai + af.padEnd(scale, "0"));
  const y = BigInt(bi + bf.padEnd(scale, "0"));
  return x < y ? -1 : x > y ? 1 : 0;
}
