import { toDecimalString } from "../clickhouse/client.js";
import { ApiError } from "../http/problem.js";

/**
 * sum/avg of decimal numbers kept as text: Postgres' `numeric` without precision and `money`
 * land in a String column (src/cdc/types.ts), values like `-12.34`, `123456789012345678901234.5`
 * or `NaN`, `Infinity`, `-Infinity`. ClickHouse has no arbitrary-precision decimal, so the sum
 * runs in Decimal256 with a fixed scale, which is exact for every value that fits it; a value
 * that does not is refused (422), never rounded, and text that is no number is refused (400).
 * The catalog only says "String": whether a column holds numbers is found from its values.
 *
 * Per group the query also returns a stats tuple (below), from which the answer is finished:
 * the sum with Postgres' scale (the largest scale of the summed values), NaN/±Infinity by
 * Postgres' rules, avg from the exact sum. A window total over every group carries the refusals,
 * so a value refused in a group that is not in the answer (LIMIT) still refuses the answer: its
 * group's sum would have decided which groups are.
 */

/** Scale of the Decimal256 the sum runs in: the most digits after the point a value may have. */
export const TEXT_DECIMAL_SCALE = 30;
/** Most digits before the point a value may have: 36 + 30 leaves 10 of Decimal256's 76 digits, room for 10^10 values. */
export const TEXT_DECIMAL_INT_DIGITS = 36;

/** Decimal text as Postgres (and Debezium's decimal.handling.mode=string) writes it. */
const DECIMAL_TEXT = "'^-?[0-9]+([.][0-9]+)?$'";
/** Decimal text that fits Decimal256(TEXT_DECIMAL_SCALE) with room for the sum. */
const FITS = `'^-?[0-9]{1,${TEXT_DECIMAL_INT_DIGITS}}([.][0-9]{1,${TEXT_DECIMAL_SCALE}})?$'`;
const SPECIAL = "('NaN', 'Infinity', '-Infinity')";

/** Positions (1-based, for tupleElement) in the stats tuple of textDecimalStats. */
const S = { notNumber: 1, tooWide: 2, nan: 3, posInf: 4, negInf: 5, scale: 6, summed: 7, rows: 8 } as const;

/** The exact sum of the values that fit, as Decimal256(TEXT_DECIMAL_SCALE); NULL when none does. `col` is quoted. */
export function textDecimalSum(col: string): string {
  return `sum(if(match(${col}, ${FITS}), toDecimal256OrNull(${col}, ${TEXT_DECIMAL_SCALE}), NULL))`;
}

/** Per group: (not numbers, too wide, NaN, Infinity, -Infinity, largest scale, values summed, rows). */
export function textDecimalStats(col: string): string {
  const when = (cond: string) => `countIf(ifNull(${cond}, 0))`;
  return `tuple(${[
    when(`NOT (match(${col}, ${DECIMAL_TEXT}) OR ${col} IN ${SPECIAL})`),
    when(`match(${col}, ${DECIMAL_TEXT}) AND NOT match(${col}, ${FITS})`),
    when(`${col} = 'NaN'`),
    when(`${col} = 'Infinity'`),
    when(`${col} = '-Infinity'`),
    `max(ifNull(if(match(${col}, ${DECIMAL_TEXT}) AND position(${col}, '.') > 0, length(${col}) - position(${col}, '.'), 0), 0))`,
    when(`match(${col}, ${FITS})`),
    "count()",
  ].join(", ")})`;
}

/** Over every group of the answer (before ORDER BY/LIMIT): (not numbers, too wide). `stats` is the stats alias. */
export function textDecimalRefusals(stats: string): string {
  return `tuple(sum(tupleElement(${stats}, ${S.notNumber})) OVER (), sum(tupleElement(${stats}, ${S.tooWide})) OVER ())`;
}

/**
 * ORDER BY items for a text decimal metric, in Postgres' order: -Infinity, the numbers,
 * Infinity, NaN (NaN above everything, as Postgres sorts numeric NaN); NULL (nothing summed)
 * where ClickHouse puts a NULL metric of any other column.
 */
export function textDecimalOrder(fn: "sum" | "avg", metric: string, stats: string, dir: "ASC" | "DESC"): string[] {
  const e = (i: number) => `tupleElement(${stats}, ${i})`;
  // NULL when nothing was summed: the metric is NULL and sorts where ClickHouse puts NULLs.
  const rank = `multiIf(${e(S.nan)} > 0 OR (${e(S.posInf)} > 0 AND ${e(S.negInf)} > 0), 3, ${e(S.posInf)} > 0, 2, ${e(S.negInf)} > 0, 0, ${e(S.summed)} > 0, 1, NULL)`;
  const value = fn === "sum" ? metric : `${metric} / nullIf(${e(S.summed)}, 0)`;
  // Within NaN or an infinity, groups tie (then the group columns order them), as in Postgres.
  return [`${rank} ${dir}`, `if(${rank} = 1, ${value}, NULL) ${dir}`];
}

export interface TextDecimalMetric {
  fn: "sum" | "avg";
  /** The column (its name, for messages). */
  column: string;
  /** Answer key (sum_amount). */
  key: string;
  /** SQL aliases of the Decimal256 sum, the stats tuple and the refusal totals. */
  metric: string;
  stats: string;
  refusals: string;
}

const counts = (v: unknown): number[] => (Array.isArray(v) ? v.map((x) => Number(x)) : []);

/** Throws the refusal an answer carries (any row's window totals), if any. */
export function checkTextDecimalRefusals(rows: Record<string, unknown>[], metrics: TextDecimalMetric[]): void {
  for (const m of metrics) {
    const [notNumber = 0, tooWide = 0] = rows.reduce<number[]>((acc, r) => {
      const [a = 0, b = 0] = counts(r[m.refusals]);
      return [Math.max(acc[0] ?? 0, a), Math.max(acc[1] ?? 0, b)];
    }, []);
    if (notNumber > 0) {
      throw new ApiError({
        status: 400,
        title: "Validation Failed",
        detail: "the query parameters did not validate",
        errors: [
          {
            field: "metrics",
            reason: `${m.fn} needs a numeric column; ${m.column} is text holding values that are not decimal numbers`,
          },
        ],
      });
    }
    if (tooWide > 0) {
      throw new ApiError({
        status: 422,
        title: "Not Exactly Summable",
        detail: `an exact ${m.fn} of ${m.column} is not possible here, so none is given`,
        errors: [
          {
            field: "metrics",
            reason: `${m.column} holds a number with more than ${TEXT_DECIMAL_INT_DIGITS} digits before the point or ${TEXT_DECIMAL_SCALE} after`,
          },
        ],
      });
    }
  }
}

/** The answer's value of a text decimal metric in one row (ClickHouse aliases). */
export function textDecimalValue(row: Record<string, unknown>, m: TextDecimalMetric): string | number | null {
  const s = counts(row[m.stats]);
  const at = (i: number) => s[i - 1] ?? 0;
  // Postgres: NaN wins; Infinity + -Infinity is NaN; an infinity outweighs every number.
  if (at(S.nan) > 0 || (at(S.posInf) > 0 && at(S.negInf) > 0)) return "NaN";
  if (at(S.posInf) > 0) return "Infinity";
  if (at(S.negInf) > 0) return "-Infinity";
  // No row (an empty bucket of a filled series, or nothing matched): sum 0, avg null, as for other columns.
  if (at(S.rows) === 0) return m.fn === "sum" ? "0" : null;
  const sum = row[m.metric];
  if (at(S.summed) === 0 || sum === null || sum === undefined) return null; // only NULLs: Postgres says NULL
  const text = toDecimalString(sum);
  return m.fn === "sum" ? withScale(text, at(S.scale)) : Number(text) / at(S.summed);
}

/** Decimal text cut or padded to `scale` digits after the point; only zeros may be cut. */
export function withScale(text: string, scale: number): string {
  const m = /^(-?\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) throw new Error(`not decimal text: ${JSON.stringify(text)}`);
  const frac = (m[2] ?? "").padEnd(scale, "0");
  if (/[1-9]/.test(frac.slice(scale))) throw new Error(`${text} has digits past scale ${scale}`);
  return scale > 0 ? `${m[1]}.${frac.slice(0, scale)}` : (m[1] as string);
}
