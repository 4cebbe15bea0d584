import { ApiError, type FieldError } from "../http/problem.js";
import {
  BUCKET_SETTINGS,
  bucketExpr,
  bucketRange,
  bucketType,
  formatBucket,
  intervalOf,
  isTimeFamily,
  TIME_BUCKETS,
  type TimeBucket,
} from "./buckets.js";
import type { ColumnInfo, TableInfo } from "./catalog.js";
import {
  checkTextDecimalRefusals,
  type TextDecimalMetric,
  textDecimalOrder,
  textDecimalRefusals,
  textDecimalStats,
  textDecimalSum,
  textDecimalValue,
} from "./text-decimal.js";
import { checkValue, isComparable, isNumeric, isOrderable } from "./types.js";

/**
 * SQL building for the generic table reads. Pure: requests in, `{ sql, params }` out.
 * Identifiers come only from the catalog (checked, then quoted); every value a request
 * carries travels as a typed query parameter `{pN:Type}`; numbers of rows are bound too.
 */

export const FILTER_OPS = ["eq", "ne", "lt", "lte", "gt", "gte", "in", "null", "notnull"] as const;
export type FilterOp = (typeof FILTER_OPS)[number];
export const AGGREGATE_FNS = ["count", "sum", "avg", "min", "max"] as const;
export type AggregateFn = (typeof AGGREGATE_FNS)[number];

export interface Filter {
  column: string;
  op: FilterOp;
  values: string[];
}
export interface OrderItem {
  column: string;
  dir: "asc" | "desc";
}
export interface Metric {
  fn: AggregateFn;
  column?: string;
}

export const LIMITS = {
  maxFilters: 20,
  maxInValues: 100,
  maxOrder: 5,
  maxColumns: 200,
  maxGroupBy: 3,
  maxMetrics: 10,
  maxOffset: 1_000_000,
} as const;

export interface BuiltQuery {
  sql: string;
  params: Record<string, string>;
}

/** `name` → `` `name` `` with backquotes and backslashes escaped (names are catalog-checked first anyway). */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
}

function badRequest(errors: FieldError[], detail = "the query parameters did not validate"): ApiError {
  return new ApiError({ status: 400, title: "Validation Failed", detail, errors });
}

/** Collects typed parameters: each `bind` returns the `{pN:Type}` placeholder. */
export class Params {
  readonly values: Record<string, string> = {};
  private n = 0;
  bind(type: string, value: string): string {
    const name = `p${this.n++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }
}

// ---------------------------------------------------------------------------
// Parsing the text forms of query parameters

/** `column:op[:value]`; `in` takes comma separated values; `null`/`notnull` take none. */
export function parseFilter(text: string, field: string): Filter {
  const first = text.indexOf(":");
  if (first <= 0) throw badRequest([{ field, reason: "must be column:op:value (e.g. status:eq:paid)" }]);
  const column = text.slice(0, first);
  const rest = text.slice(first + 1);
  const second = rest.indexOf(":");
  const op = second < 0 ? rest : rest.slice(0, second);
  const raw = second < 0 ? undefined : rest.slice(second + 1);
  if (!(FILTER_OPS as readonly string[]).includes(op)) {
    throw badRequest([{ field, reason: `unknown operator; use one of ${FILTER_OPS.join(", ")}` }]);
  }
  const o = op as FilterOp;
  if (o === "null" || o === "notnull") {
    if (raw !== undefined) throw badRequest([{ field, reason: `${o} takes no value` }]);
    return { column, op: o, values: [] };
  }
  if (raw === undefined) throw badRequest([{ field, reason: `${o} needs a value: column:${o}:value` }]);
  const values = o === "in" ? raw.split(",") : [raw];
  if (values.length > LIMITS.maxInValues)
    throw badRequest([{ field, reason: `in takes at most ${LIMITS.maxInValues} values` }]);
  return { column, op: o, values };
}

/** `col[:asc|desc],col2…` */
export function parseOrder(text: string, field = "order"): OrderItem[] {
  const items = text.split(",").filter((s) => s.length > 0);
  if (items.length > LIMITS.maxOrder) throw badRequest([{ field, reason: `at most ${LIMITS.maxOrder} columns` }]);
  return items.map((item) => {
    const [column = "", dir = "asc", extra] = item.split(":");
    if (extra !== undefined || (dir !== "asc" && dir !== "desc") || !column) {
      throw badRequest([{ field, reason: "must be column[:asc|desc], comma separated" }]);
    }
    return { column, dir };
  });
}

/** `count`, `count:col`, `sum:col`, `avg:col`, `min:col`, `max:col`, comma separated. */
export function parseMetrics(text: string, field = "metrics"): Metric[] {
  const items = text.split(",").filter((s) => s.length > 0);
  if (items.length === 0) throw badRequest([{ field, reason: "name at least one metric, e.g. count or sum:total" }]);
  if (items.length > LIMITS.maxMetrics) throw badRequest([{ field, reason: `at most ${LIMITS.maxMetrics} metrics` }]);
  return items.map((item) => {
    const [fn = "", column, extra] = item.split(":");
    if (!(AGGREGATE_FNS as readonly string[]).includes(fn) || extra !== undefined) {
      throw badRequest([{ field, reason: `each metric is fn[:column] with fn one of ${AGGREGATE_FNS.join(", ")}` }]);
    }
    if (fn !== "count" && !column) throw badRequest([{ field, reason: `${fn} needs a column: ${fn}:column` }]);
    return { fn: fn as AggregateFn, ...(column ? { column } : {}) };
  });
}

export function splitList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text.split(",").filter((s) => s.length > 0);
}

// ---------------------------------------------------------------------------
// Building

function column(table: TableInfo, name: string, field: string): ColumnInfo {
  const c = table.byName.get(name);
  if (!c) throw badRequest([{ field, reason: `unknown column of ${table.name}` }]);
  return c;
}

export function fromClause(database: string, table: TableInfo): string {
  return `${quoteIdent(database)}.${quoteIdent(table.name)}${table.final ? " FINAL" : ""}`;
}

/** The WHERE conditions: not deleted, plus every filter with its value bound as the column's type. */
export function whereClause(table: TableInfo, filters: Filter[], params: Params, field = "filter"): string {
  if (filters.length > LIMITS.maxFilters) throw badRequest([{ field, reason: `at most ${LIMITS.maxFilters} filters` }]);
  const conds: string[] = table.hasDeletedFlag ? ["`_deleted` = 0"] : [];
  const errors: FieldError[] = [];
  filters.forEach((f, i) => {
    const where = filters.length > 1 ? `${field}[${i}]` : field;
    const c = table.byName.get(f.column);
    if (!c) {
      errors.push({ field: where, reason: `unknown column of ${table.name}` });
      return;
    }
    const id = quoteIdent(c.name);
    if (f.op === "null" || f.op === "notnull") {
      conds.push(`${id} IS ${f.op === "null" ? "" : "NOT "}NULL`);
      return;
    }
    if (!isComparable(c.scalar) || !c.scalar.bindType) {
      errors.push({ field: where, reason: `column ${c.name} (${c.type}) cannot be filtered on` });
      return;
    }
    if (["lt", "lte", "gt", "gte"].includes(f.op) && (!isOrderable(c.scalar) || c.scalar.family === "enum")) {
      errors.push({ field: where, reason: `column ${c.name} (${c.type}) has no order for ${f.op}` });
      return;
    }
    const bound: string[] = [];
    for (const v of f.values) {
      const checked = checkValue(c.scalar, v);
      if (!checked.ok) {
        errors.push({ field: where, reason: `value for ${c.name} ${checked.reason}` });
        return;
      }
      bound.push(params.bind(c.scalar.bindType, checked.value));
    }
    const op = { eq: "=", ne: "!=", lt: "<", lte: "<=", gt: ">", gte: ">=" }[f.op as "eq"];
    if (f.op === "in") conds.push(`${id} IN (${bound.join(", ")})`);
    else conds.push(`${id} ${op} ${bound[0]}`);
  });
  if (errors.length) throw badRequest(errors);
  return conds.length ? ` WHERE ${conds.join(" AND ")}` : "";
}

export interface SelectRequest {
  columns?: string[];
  filters: Filter[];
  order: OrderItem[];
  limit: number;
  offset: number;
  /** Keyset cursor from a previous page's `nextCursor`. */
  after?: string;
  includeInternal: boolean;
}

export interface BuiltSelect extends BuiltQuery {
  /** Columns returned, in order. */
  columns: string[];
  /** Keyset order the cursor encodes (order asked + sorting key as tie breaker). */
  keyOrder: OrderItem[];
  /** Alias prefix of the key values selected for the cursor (`__k0`, `__k1`, …). */
  keyAlias: string;
}

export const KEY_ALIAS = "__k";

export function encodeCursor(values: string[]): string {
  return Buffer.from(JSON.stringify(values), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string, expected: number): string[] {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,8192}$/.test(cursor)) throw new Error("not base64url");
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw badRequest([{ field: "after", reason: "is not a cursor this API returned" }]);
  }
  if (!Array.isArray(parsed) || parsed.length !== expected || !parsed.every((v) => typeof v === "string")) {
    throw badRequest([
      { field: "after", reason: "does not match this query's order; keep order the same across pages" },
    ]);
  }
  return parsed as string[];
}

/** SELECT of rows: projection, filters, order (sorting key appended for a total order), limit+1, offset or keyset. */
export function buildSelect(database: string, table: TableInfo, req: SelectRequest, maxRows: number): BuiltSelect {
  const params = new Params();
  const errors: FieldError[] = [];
  const requested = req.columns ?? table.columns.filter((c) => req.includeInternal || !c.internal).map((c) => c.name);
  if (requested.length === 0) errors.push({ field: "columns", reason: "name at least one column" });
  if (requested.length > LIMITS.maxColumns)
    errors.push({ field: "columns", reason: `at most ${LIMITS.maxColumns} columns` });
  const seen = new Set<string>();
  for (const name of requested) {
    if (!table.byName.has(name))
      errors.push({
        field: "columns",
        reason: `unknown column of ${table.name}`,
      });
    else if (seen.has(name)) errors.push({ field: "columns", reason: `column ${name} named twice` });
    seen.add(name);
  }
  if (!Number.isInteger(req.limit) || req.limit < 1 || req.limit > maxRows)
    errors.push({ field: "limit", reason: `must be an integer from 1 to ${maxRows}` });
  if (!Number.isInteger(req.offset) || req.offset < 0 || req.offset > LIMITS.maxOffset)
    errors.push({ field: "offset", reason: `must be an integer from 0 to ${LIMITS.maxOffset}` });
  if (req.after !== undefined && req.offset > 0)
    errors.push({ field: "after", reason: "use either offset or after, not both" });
  if (errors.length) throw badRequest(errors);

  const keyOrder: OrderItem[] = [];
  for (const o of req.order) {
    const c = column(table, o.column, "order");
    if (!isOrderable(c.scalar))
      throw badRequest([{ field: "order", reason: `column ${c.name} (${c.type}) cannot be ordered by` }]);
    if (keyOrder.some((k) => k.column === o.column))
      throw badRequest([{ field: "order", reason: `column ${o.column} named twice` }]);
    keyOrder.push(o);
  }
  const tieDir = keyOrder[0]?.dir ?? "asc";
  for (const k of table.sortingKey)
    if (!keyOrder.some((o) => o.column === k)) keyOrder.push({ column: k, dir: tieDir });

  let where = whereClause(table, req.filters, params);
  if (req.after !== undefined) {
    if (keyOrder.length === 0)
      throw badRequest([{ field: "after", reason: `${table.name} has no sorting key; page with offset` }]);
    const values = decodeCursor(req.after, keyOrder.length);
    // (a > x) OR (a = x AND b > y) OR …, each comparison in its own direction.
    const bound = keyOrder.map((o, i) => {
      const c = column(table, o.column, "order");
      if (!c.scalar.bindType)
        throw badRequest([{ field: "after", reason: "cursor over a column that cannot be compared" }]);
      if (c.scalar.nullable)
        throw badRequest([
          { field: "after", reason: `keyset paging cannot order by the nullable column ${c.name}; page with offset` },
        ]);
      const checked = checkValue(c.scalar, values[i] ?? "");
      if (!checked.ok) throw badRequest([{ field: "after", reason: "is not a cursor this API returned" }]);
      return params.bind(c.scalar.bindType, checked.value);
    });
    const ors = keyOrder.map((o, i) => {
      const eqs = keyOrder.slice(0, i).map((p, j) => `${quoteIdent(p.column)} = ${bound[j]}`);
      eqs.push(`${quoteIdent(o.column)} ${o.dir === "asc" ? ">" : "<"} ${bound[i]}`);
      return `(${eqs.join(" AND ")})`;
    });
    where = `${where ? `${where} AND` : " WHERE"} (${ors.join(" OR ")})`;
  }

  const select = requested.map(quoteIdent);
  keyOrder.forEach((o, i) => {
    select.push(`toString(${quoteIdent(o.column)}) AS ${quoteIdent(`${KEY_ALIAS}${i}`)}`);
  });
  const orderSql = keyOrder.length
    ? ` ORDER BY ${keyOrder.map((o) => `${quoteIdent(o.column)} ${o.dir.toUpperCase()}`).join(", ")}`
    : "";
  const limit = params.bind("UInt64", String(req.limit + 1));
  const offset = params.bind("UInt64", String(req.offset));
  return {
    sql: `SELECT ${select.join(", ")} FROM ${fromClause(database, table)}${where}${orderSql} LIMIT ${limit} OFFSET ${offset}`,
    params: params.values,
    columns: requested,
    keyOrder,
    keyAlias: KEY_ALIAS,
  };
}

export function buildCount(database: string, table: TableInfo, filters: Filter[]): BuiltQuery {
  const params = new Params();
  const where = whereClause(table, filters, params);
  return { sql: `SELECT count() AS count FROM ${fromClause(database, table)}${where}`, params: params.values };
}

export interface AggregateRequest {
  metrics: Metric[];
  /** Columns, or `column:hour|day|week|month` to group a date or date-time column into UTC buckets. */
  groupBy: string[];
  filters: Filter[];
  order: OrderItem[];
  limit: number;
}

export function metricAlias(m: Metric): string {
  return m.column ? `${m.fn}_${m.column}` : m.fn;
}

export interface BuiltAggregate extends BuiltQuery {
  /** Metric names in the answer (count, sum_total, …). */
  aliases: string[];
  /** Answer key of each SQL alias (`__g0` → `status`, `__m1` → `sum_total`): see renameKeys. */
  keys: Record<string, string>;
  /** Per-query settings the SQL needs (time buckets). */
  settings: Record<string, number>;
  /** The time-bucketed group, if any; `filled`: empty buckets are in the answer (count/sum 0, avg/min/max null). */
  series?: { column: string; bucket: TimeBucket; filled: boolean };
  /** sum/avg of String columns holding decimal text, finished by aggregateAnswer (src/read/text-decimal.ts). */
  textDecimals: TextDecimalMetric[];
}

/**
 * Every expression gets an alias of ours (`__g0`, `__m0`), renamed to its answer key afterwards:
 * ClickHouse lets aliases shadow columns in WHERE, so `count() AS count` or a bucket named like
 * its column would silently change what a filter compares.
 */
const GROUP_ALIAS = "__g";
const METRIC_ALIAS = "__m";
/** Stats and refusal totals of a String column summed as decimal text (text-decimal.ts). */
const STATS_ALIAS = "__x";
const REFUSALS_ALIAS = "__w";

interface ResolvedGroup {
  name: string;
  expr: string;
  column: ColumnInfo;
  bucket?: TimeBucket;
}

/** `status` or `placed_at:day`; a column whose own name contains `:` is matched first. */
function resolveGroup(table: TableInfo, spec: string, errors: FieldError[]): ResolvedGroup | undefined {
  const err = (reason: string) => void errors.push({ field: "groupBy", reason });
  const at = spec.lastIndexOf(":");
  const exact = table.byName.get(spec);
  const name = exact || at < 0 ? spec : spec.slice(0, at);
  const bucket = exact || at < 0 ? undefined : spec.slice(at + 1);
  const c = table.byName.get(name);
  if (!c) return err(`unknown column of ${table.name}`);
  if (!isComparable(c.scalar)) return err(`column ${c.name} (${c.type}) cannot be grouped by`);
  if (bucket === undefined) return { name, expr: quoteIdent(c.name), column: c };
  if (!(TIME_BUCKETS as readonly string[]).includes(bucket))
    return err(`a time bucket is column:${TIME_BUCKETS.join("|")}, got ${name}:${bucket}`);
  if (!isTimeFamily(c.scalar)) return err(`column ${c.name} (${c.type}) is not a date or date-time: no time buckets`);
  if (bucket === "hour" && c.scalar.family === "date")
    return err(`column ${c.name} is a date: hour buckets need a date-time column`);
  const unit = bucket as TimeBucket;
  return { name, expr: bucketExpr(quoteIdent(c.name), c.scalar, unit), column: c, bucket: unit };
}

function resolveGroups(table: TableInfo, specs: string[], errors: FieldError[]): ResolvedGroup[] {
  if (specs.length > LIMITS.maxGroupBy)
    errors.push({ field: "groupBy", reason: `at most ${LIMITS.maxGroupBy} columns` });
  const groups = specs.map((s) => resolveGroup(table, s, errors)).filter((g) => g !== undefined);
  if (new Set(groups.map((g) => g.name)).size !== groups.length)
    errors.push({ field: "groupBy", reason: "a column is named twice" });
  if (groups.filter((g) => g.bucket).length > 1)
    errors.push({ field: "groupBy", reason: "at most one column can be put into time buckets" });
  return groups;
}

interface ResolvedMetric {
  alias: string;
  expr: string;
  /** sum/avg of a String column: its values are decimal text (numeric without precision, money), or refused. */
  text?: { fn: "sum" | "avg"; column: ColumnInfo };
}

/** Metric expressions; in a filled series avg/min/max are Nullable so an empty bucket says null, not 0. */
function resolveMetrics(table: TableInfo, metrics: Metric[], filled: boolean, errors: FieldError[]) {
  const out: ResolvedMetric[] = [];
  const err = (reason: string) => void errors.push({ field: "metrics", reason });
  for (const m of metrics) {
    const alias = metricAlias(m);
    if (out.some((o) => o.alias === alias)) {
      err(`${alias} is named twice`);
      continue;
    }
    if (m.column === undefined) {
      out.push({ alias, expr: "count()" });
      continue;
    }
    const c = table.byName.get(m.column);
    if (!c) err(`unknown column of ${table.name}`);
    else if ((m.fn === "sum" || m.fn === "avg") && c.scalar.family === "string")
      out.push({ alias, expr: textDecimalSum(quoteIdent(c.name)), text: { fn: m.fn, column: c } });
    else if ((m.fn === "sum" || m.fn === "avg") && !isNumeric(c.scalar))
      err(`${m.fn} needs a numeric column; ${c.name} is ${c.type}`);
    else if ((m.fn === "min" || m.fn === "max") && !isOrderable(c.scalar))
      err(`${m.fn} needs an orderable column; ${c.name} is ${c.type}`);
    else {
      const expr = `${m.fn}(${quoteIdent(c.name)})`;
      out.push({ alias, expr: filled && m.fn !== "sum" ? `toNullable(${expr})` : expr });
    }
  }
  return out;
}

/** `WITH FILL [FROM … TO …] STEP …` of the bucketed group; the range comes from filters on its column. */
function fillClause(group: ResolvedGroup, unit: TimeBucket, filters: Filter[], params: Params): string {
  const bounds = filters
    .filter((f) => f.column === group.column.name && ["gte", "gt", "eq", "lt", "lte"].includes(f.op))
    .map((f) => {
      const v = checkValue(group.column.scalar, f.values[0] ?? "");
      return { op: f.op, value: v.ok ? v.value : "" };
    })
    .filter((b) => b.value !== "");
  const { from, to } = bucketRange(group.column, bounds, unit);
  const type = bucketType(group.column.scalar);
  let range = "";
  if (from !== undefined && (to === undefined || from < to))
    range += ` FROM ${params.bind(type, formatBucket(from, group.column.scalar))}`;
  if (to !== undefined && (from === undefined || from < to))
    range += ` TO ${params.bind(type, formatBucket(to, group.column.scalar))}`;
  return ` WITH FILL${range} STEP ${intervalOf(unit)}`;
}

/** count/sum/avg/min/max, optionally grouped by up to three columns, one of them in time buckets. */
export function buildAggregate(
  database: string,
  table: TableInfo,
  req: AggregateRequest,
  maxRows: number,
): BuiltAggregate {
  const params = new Params();
  const errors: FieldError[] = [];
  if (!Number.isInteger(req.limit) || req.limit < 1 || req.limit > maxRows)
    errors.push({ field: "limit", reason: `must be an integer from 1 to ${maxRows}` });
  const groups = resolveGroups(table, req.groupBy, errors);
  const bucketed = groups.find((g) => g.bucket);
  // A series is filled when it is ordered by time: no order asked, or the bucket ascending.
  const filled =
    bucketed !== undefined &&
    (req.order.length === 0 ||
      (req.order.length === 1 && req.order[0]?.column === bucketed.name && req.order[0].dir === "asc"));
  const metrics = resolveMetrics(table, req.metrics, filled, errors);
  const keys: Record<string, string> = {};
  groups.forEach((g, i) => {
    keys[`${GROUP_ALIAS}${i}`] = g.name;
  });
  metrics.forEach((m, i) => {
    if (groups.some((g) => g.name === m.alias)) errors.push({ field: "metrics", reason: `${m.alias} is named twice` });
    keys[`${METRIC_ALIAS}${i}`] = m.alias;
  });
  const aliasOf = (name: string) => Object.entries(keys).find(([, v]) => v === name)?.[0];
  for (const o of req.order)
    if (!aliasOf(o.column))
      errors.push({
        field: "order",
        reason: "must name a groupBy column or a metric (e.g. count:desc, sum_total:desc)",
      });
  if (errors.length) throw badRequest(errors);

  // Decimal text: one stats tuple and one refusal total per column, shared by its sum and avg.
  const textDecimals: TextDecimalMetric[] = [];
  const textColumns = new Map<string, number>();
  const textSelect: string[] = [];
  metrics.forEach((m, i) => {
    if (!m.text) return;
    let j = textColumns.get(m.text.column.name);
    if (j === undefined) {
      j = textColumns.size;
      textColumns.set(m.text.column.name, j);
      const stats = quoteIdent(`${STATS_ALIAS}${j}`);
      textSelect.push(`${textDecimalStats(quoteIdent(m.text.column.name))} AS ${stats}`);
      textSelect.push(`${textDecimalRefusals(stats)} AS ${quoteIdent(`${REFUSALS_ALIAS}${j}`)}`);
    }
    textDecimals.push({
      fn: m.text.fn,
      column: m.text.column.name,
      key: m.alias,
      metric: `${METRIC_ALIAS}${i}`,
      stats: `${STATS_ALIAS}${j}`,
      refusals: `${REFUSALS_ALIAS}${j}`,
    });
  });

  let where = whereClause(table, req.filters, params);
  if (bucketed?.column.scalar.nullable) {
    const notNull = `${quoteIdent(bucketed.column.name)} IS NOT NULL`;
    where = where ? `${where} AND ${notNull}` : ` WHERE ${notNull}`;
  }
  const select = [
    ...groups.map((g, i) => `${g.expr} AS ${quoteIdent(`${GROUP_ALIAS}${i}`)}`),
    ...metrics.map((m, i) => `${m.expr} AS ${quoteIdent(`${METRIC_ALIAS}${i}`)}`),
    ...textSelect,
  ];
  const groupSql = groups.length
    ? ` GROUP BY ${groups.map((_, i) => quoteIdent(`${GROUP_ALIAS}${i}`)).join(", ")}`
    : "";
  let order: string[];
  if (filled && bucketed?.bucket) {
    const others = groups.filter((g) => g !== bucketed).map((g) => `${quoteIdent(aliasOf(g.name) ?? "")} ASC`);
    const fill = fillClause(bucketed, bucketed.bucket, req.filters, params);
    order = [...others, `${quoteIdent(aliasOf(bucketed.name) ?? "")} ASC${fill}`];
  } else if (req.order.length) {
    order = req.order.flatMap((o) => {
      const alias = aliasOf(o.column) ?? "";
      const dir = o.dir === "asc" ? "ASC" : "DESC";
      const text = textDecimals.find((t) => t.metric === alias);
      return text
        ? textDecimalOrder(text.fn, quoteIdent(alias), quoteIdent(text.stats), dir)
        : [`${quoteIdent(alias)} ${dir}`];
    });
    // The groups break ties, so equal metrics come in one order every time (and pages of groups are stable).
    groups.forEach((g, i) => {
      if (!req.order.some((o) => o.column === g.name)) order.push(`${quoteIdent(`${GROUP_ALIAS}${i}`)} ASC`);
    });
  } else {
    order = groups.map((_, i) => `${quoteIdent(`${GROUP_ALIAS}${i}`)} ASC`);
  }
  const orderSql = order.length ? ` ORDER BY ${order.join(", ")}` : "";
  const limit = params.bind("UInt64", String(req.limit + 1));
  return {
    sql: `SELECT ${select.join(", ")} FROM ${fromClause(database, table)}${where}${groupSql}${orderSql} LIMIT ${limit}`,
    params: params.values,
    aliases: metrics.map((m) => m.alias),
    keys,
    settings: bucketed ? { ...BUCKET_SETTINGS } : {},
    ...(bucketed?.bucket ? { series: { column: bucketed.name, bucket: bucketed.bucket, filled } } : {}),
    textDecimals,
  };
}

/**
 * Rows of an aggregate (ClickHouse aliases) → the answer's rows (answer keys), with sums and
 * averages of decimal text finished; throws the 400/422 such a metric's values call for.
 */
export function aggregateAnswer(built: BuiltAggregate, rows: Record<string, unknown>[]): Record<string, unknown>[] {
  checkTextDecimalRefusals(rows, built.textDecimals);
  return rows.map((r) => {
    const out = renameKeys(r, built.keys);
    for (const m of built.textDecimals) out[m.key] = textDecimalValue(r, m);
    return out;
  });
}

/** A row of ClickHouse aliases → a row of answer keys, in the order of `keys`. */
export function renameKeys(row: Record<string, unknown>, keys: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(keys).map(([alias, name]) => [name, row[alias]]));
}
