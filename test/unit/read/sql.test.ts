import { describe, expect, it } from "vitest";
import { ApiError } from "../../../src/http/problem.js";
import { buildCatalog, type TableInfo } from "../../../src/read/catalog.js";
import {
  aggregateAnswer,
  buildAggregate,
  buildCount,
  buildSelect,
  decodeCursor,
  encodeCursor,
  parseFilter,
  parseMetrics,
  parseOrder,
  quoteIdent,
  renameKeys,
} from "../../../src/read/sql.js";

const catalog = buildCatalog(
  "sidecar",
  [
    { name: "shop__orders", engine: "ReplacingMergeTree", sorting_key: "(id)" },
    { name: "lines", engine: "ReplacingMergeTree", sorting_key: "order_id, line_no" },
    { name: "_sidecar_progress", engine: "ReplacingMergeTree", sorting_key: "table" },
    { name: "weird", engine: "MergeTree", sorting_key: "" },
  ],
  [
    { table: "shop__orders", name: "id", type: "UUID" },
    { table: "shop__orders", name: "status", type: "LowCardinality(String)" },
    { table: "shop__orders", name: "total", type: "Decimal(14, 2)" },
    { table: "shop__orders", name: "placed_at", type: "DateTime64(6, 'UTC')" },
    { table: "shop__orders", name: "tags", type: "Array(String)" },
    { table: "shop__orders", name: "note", type: "Nullable(String)" },
    { table: "shop__orders", name: "_version", type: "UInt64" },
    { table: "shop__orders", name: "_deleted", type: "UInt8" },
    { table: "lines", name: "order_id", type: "UUID" },
    { table: "lines", name: "line_no", type: "Int32" },
    { table: "lines", name: "_deleted", type: "UInt8" },
    { table: "weird", name: "a`b", type: "String" },
  ],
);
const orders = catalog.tables.get("shop__orders") as TableInfo;
const lines = catalog.tables.get("lines") as TableInfo;

function fieldErrors(fn: () => unknown): { field: string; reason: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    return (err as ApiError).errors;
  }
  throw new Error("expected a 400");
}

const base = { filters: [], order: [], limit: 10, offset: 0, includeInternal: false };

describe("catalog", () => {
  it("hides internal tables and marks internal columns", () => {
    expect([...catalog.tables.keys()].sort()).toEqual(["lines", "shop__orders", "weird"]);
    expect(orders.columns.filter((c) => c.internal).map((c) => c.name)).toEqual(["_version", "_deleted"]);
    expect(orders.final).toBe(true);
    expect(catalog.tables.get("weird")?.final).toBe(false);
    expect(lines.sortingKey).toEqual(["order_id", "line_no"]);
  });
});

describe("quoteIdent", () => {
  it("escapes backquotes and backslashes", () => {
    expect(quoteIdent("a`b\\c")).toBe("`a\\`b\\\\c`");
  });
});

describe("parsing parameters", () => {
  it("parses filters, keeping colons inside values", () => {
    expect(parseFilter("placed_at:gte:2024-01-01T00:00:00Z", "filter")).toEqual({
      column: "placed_at",
      op: "gte",
      values: ["2024-01-01T00:00:00Z"],
    });
    expect(parseFilter("status:in:paid,shipped", "filter").values).toEqual(["paid", "shipped"]);
    expect(parseFilter("note:null", "filter")).toEqual({ column: "note", op: "null", values: [] });
  });
  it("rejects malformed filters, orders and metrics with field and reason", () => {
    expect(fieldErrors(() => parseFilter("status", "filter"))[0]?.field).toBe("filter");
    expect(fieldErrors(() => parseFilter("status:like:%x%", "filter"))[0]?.reason).toMatch(/unknown operator/);
    expect(fieldErrors(() => parseFilter("status:eq", "filter"))[0]?.reason).toMatch(/needs a value/);
    expect(fieldErrors(() => parseFilter("note:null:1", "filter"))[0]?.reason).toMatch(/takes no value/);
    expect(fieldErrors(() => parseOrder("total:sideways"))[0]?.field).toBe("order");
    expect(fieldErrors(() => parseOrder("a,b,c,d,e,f"))[0]?.reason).toMatch(/at most 5/);
    expect(fieldErrors(() => parseMetrics("median:total"))[0]?.field).toBe("metrics");
    expect(fieldErrors(() => parseMetrics("sum"))[0]?.reason).toMatch(/needs a column/);
  });
});

describe("buildSelect", () => {
  it("projects, filters with typed parameters, orders with the key as tie breaker, limit+1", () => {
    const q = buildSelect(
      "sidecar",
      orders,
      {
        ...base,
        columns: ["id", "total"],
        filters: [
          parseFilter("status:in:paid,shipped", "filter"),
          parseFilter("total:gte:10.5", "filter"),
          parseFilter("placed_at:lt:2024-05-01T02:00:00+02:00", "filter"),
        ],
        order: parseOrder("total:desc"),
      },
      100,
    );
    expect(q.sql).toBe(
      "SELECT `id`, `total`, toString(`total`) AS `__k0`, toString(`id`) AS `__k1` FROM `sidecar`.`shop__orders` FINAL" +
        " WHERE `_deleted` = 0 AND `status` IN ({p0:String}, {p1:String}) AND `total` >= {p2:Decimal(14, 2)}" +
        " AND `placed_at` < {p3:DateTime64(6, 'UTC')} ORDER BY `total` DESC, `id` DESC LIMIT {p4:UInt64} OFFSET {p5:UInt64}",
    );
    expect(q.params).toEqual({
      p0: "paid",
      p1: "shipped",
      p2: "10.5",
      p3: "2024-05-01 00:00:00.000000",
      p4: "11",
      p5: "0",
    });
    expect(q.keyOrder).toEqual([
      { column: "total", dir: "desc" },
      { column: "id", dir: "desc" },
    ]);
  });

  it("never puts a value into the SQL text", () => {
    const evil = "x' OR 1=1; DROP TABLE t; --";
    const q = buildSelect("sidecar", orders, { ...base, filters: [parseFilter(`status:eq:${evil}`, "filter")] }, 100);
    expect(q.sql).not.toContain(evil);
    expect(q.sql).not.toContain("DROP");
    expect(Object.values(q.params)).toContain(evil);
  });

  it("hides internal columns unless asked", () => {
    expect(buildSelect("sidecar", orders, base, 100).columns).toEqual([
      "id",
      "status",
      "total",
      "placed_at",
      "tags",
      "note",
    ]);
    expect(buildSelect("sidecar", orders, { ...base, includeInternal: true }, 100).columns).toContain("_version");
  });

  it("rejects unknown columns, bad values, abusive limits and offsets", () => {
    expect(
      fieldErrors(() => buildSelect("sidecar", orders, { ...base, columns: ["id", "secret"] }, 100))[0]?.field,
    ).toBe("columns");
    expect(
      fieldErrors(() => buildSelect("sidecar", orders, { ...base, columns: ["id; DROP TABLE x"] }, 100))[0]?.field,
    ).toBe("columns");
    expect(fieldErrors(() => buildSelect("sidecar", orders, { ...base, limit: 101 }, 100))[0]?.field).toBe("limit");
    expect(fieldErrors(() => buildSelect("sidecar", orders, { ...base, limit: 0 }, 100))[0]?.field).toBe("limit");
    expect(fieldErrors(() => buildSelect("sidecar", orders, { ...base, offset: -1 }, 100))[0]?.field).toBe("offset");
    const bad = (f: string) =>
      fieldErrors(() => buildSelect("sidecar", orders, { ...base, filters: [parseFilter(f, "filter")] }, 100));
    expect(bad("nope:eq:1")[0]?.reason).toMatch(/unknown column/);
    expect(bad("total:eq:1.234")[0]?.reason).toMatch(/at most 2 decimal places/);
    expect(bad("total:eq:1e5")[0]?.reason).toMatch(/decimal/);
    expect(bad("id:eq:'; SELECT 1")[0]?.reason).toMatch(/UUID/);
    expect(bad("placed_at:gt:yesterday")[0]?.reason).toMatch(/ISO 8601/);
    expect(bad("tags:eq:a")[0]?.reason).toMatch(/cannot be filtered/);
    expect(
      fieldErrors(() => buildSelect("sidecar", orders, { ...base, order: parseOrder("tags") }, 100))[0]?.reason,
    ).toMatch(/cannot be ordered/);
  });

  it("keyset: a cursor becomes a bound lexicographic condition; a forged one is a 400", () => {
    const cursor = encodeCursor(["12.5", "6f1c2e1a-8a52-4d9e-9a57-2f2f4b0f3c11"]);
    const q = buildSelect("sidecar", orders, { ...base, order: parseOrder("total:asc"), after: cursor }, 100);
    expect(q.sql).toContain(
      "((`total` > {p0:Decimal(14, 2)}) OR (`total` = {p0:Decimal(14, 2)} AND `id` > {p1:UUID}))".replace(
        "{p0:Decimal(14, 2)} AND",
        "{p0:Decimal(14, 2)} AND",
      ),
    );
    expect(q.params.p0).toBe("12.5");
    expect(decodeCursor(cursor, 2)).toEqual(["12.5", "6f1c2e1a-8a52-4d9e-9a57-2f2f4b0f3c11"]);
    expect(fieldErrors(() => decodeCursor("not a cursor!", 2))[0]?.field).toBe("after");
    expect(fieldErrors(() => decodeCursor(encodeCursor(["1"]), 2))[0]?.field).toBe("after");
    const forged = encodeCursor(["1' OR '1'='1", "x"]);
    expect(
      fieldErrors(() => buildSelect("sidecar", orders, { ...base, order: parseOrder("total"), after: forged }, 100))[0]
        ?.field,
    ).toBe("after");
    expect(
      fieldErrors(() => buildSelect("sidecar", orders, { ...base, offset: 5, after: cursor }, 100))[0]?.field,
    ).toBe("after");
    const nullable = encodeCursor(["x", "6f1c2e1a-8a52-4d9e-9a57-2f2f4b0f3c11"]);
    expect(
      fieldErrors(() => buildSelect("sidecar", orders, { ...base, order: parseOrder("note"), after: nullable }, 100))[0]
        ?.reason,
    ).toMatch(/nullable/);
  });
});

describe("buildCount and buildAggregate", () => {
  it("counts current rows", () => {
    expect(buildCount("sidecar", lines, []).sql).toBe(
      "SELECT count() AS count FROM `sidecar`.`lines` FINAL WHERE `_deleted` = 0",
    );
  });

  it("aggregates with groups, aliases and order", () => {
    const q = buildAggregate(
      "sidecar",
      orders,
      {
        metrics: parseMetrics("count,sum:total,max:placed_at"),
        groupBy: ["status"],
        filters: [],
        order: parseOrder("sum_total:desc"),
        limit: 5,
      },
      100,
    );
    // Our own aliases in SQL (a table column named like a metric cannot be shadowed), answer keys in `keys`.
    expect(q.sql).toBe(
      "SELECT `status` AS `__g0`, count() AS `__m0`, sum(`total`) AS `__m1`, max(`placed_at`) AS `__m2` FROM `sidecar`.`shop__orders` FINAL" +
        " WHERE `_deleted` = 0 GROUP BY `__g0` ORDER BY `__m1` DESC, `__g0` ASC LIMIT {p0:UInt64}",
    );
    expect(q.params).toEqual({ p0: "6" });
    expect(q.keys).toEqual({ __g0: "status", __m0: "count", __m1: "sum_total", __m2: "max_placed_at" });
    expect(renameKeys({ __g0: "paid", __m0: "2", __m1: "3.50", __m2: "x" }, q.keys)).toEqual({
      status: "paid",
      count: "2",
      sum_total: "3.50",
      max_placed_at: "x",
    });
    expect(q.settings).toEqual({});
    expect(q.series).toBeUndefined();
  });

  it("rejects sums of arrays and dates, unknown group columns and orders by unknown names", () => {
    const agg = (over: Partial<Parameters<typeof buildAggregate>[2]>) =>
      fieldErrors(() =>
        buildAggregate(
          "sidecar",
          orders,
          { metrics: parseMetrics("count"), groupBy: [], filters: [], order: [], limit: 5, ...over },
          100,
        ),
      );
    expect(agg({ metrics: parseMetrics("sum:tags") })[0]?.reason).toMatch(/numeric/);
    expect(agg({ metrics: parseMetrics("avg:placed_at") })[0]?.reason).toMatch(/numeric/);
    expect(agg({ groupBy: ["secret"] })[0]?.field).toBe("groupBy");
    expect(agg({ order: parseOrder("nope") })[0]?.field).toBe("order");
    expect(agg({ limit: 1_000 })[0]?.field).toBe("limit");
  });
});

describe("sum and avg of decimal text (a String column: numeric without precision, money)", () => {
  const q = (metrics: string, order = "") =>
    buildAggregate(
      "sidecar",
      orders,
      {
        metrics: parseMetrics(metrics),
        groupBy: ["status"],
        filters: [],
        order: order ? parseOrder(order) : [],
        limit: 5,
      },
      100,
    );

  it("sums in Decimal256(30) with one stats tuple and one refusal total per column, shared by sum and avg", () => {
    const built = q("sum:note,avg:note,count", "avg_note:desc");
    expect(built.sql).toContain(
      "sum(if(match(`note`, '^-?[0-9]{1,36}([.][0-9]{1,30})?$'), toDecimal256OrNull(`note`, 30), NULL)) AS `__m0`",
    );
    expect(built.sql.match(/ AS `__x\d`/g)).toEqual([" AS `__x0`"]);
    expect(built.sql).toContain("sum(tupleElement(`__x0`, 1)) OVER ()");
    expect(built.sql).toMatch(
      /ORDER BY multiIf\(.*\) DESC, if\(.*`__m1` \/ nullIf\(tupleElement\(`__x0`, 7\), 0\), NULL\) DESC, `__g0` ASC/,
    );
    expect(built.textDecimals.map((t) => [t.key, t.metric, t.stats])).toEqual([
      ["sum_note", "__m0", "__x0"],
      ["avg_note", "__m1", "__x0"],
    ]);
  });

  it("finishes the answer as Postgres would: its scale, NaN and infinities, NULL for no value, 0 for no row", () => {
    const built = q("sum:note,avg:note");
    const row = (status: string, sum: string | null, stats: number[]) => ({
      __g0: status,
      __m0: sum,
      __m1: sum,
      __x0: stats.map(String),
      __w0: ["0", "0"],
    });
    // stats: not numbers, too wide, NaN, Infinity, -Infinity, largest scale, values summed, rows
    const answer = aggregateAnswer(built, [
      row("a", "-12345678901234567888.623000000000000000000000000000", [0, 0, 0, 0, 0, 3, 2, 2]),
      row("b", "2.000000000000000000000000000000", [0, 0, 0, 0, 0, 0, 2, 3]),
      row("c", "1.000000000000000000000000000000", [0, 0, 0, 1, 0, 2, 1, 2]),
      row("d", null, [0, 0, 0, 1, 1, 0, 0, 2]),
      row("e", "5.000000000000000000000000000000", [0, 0, 1, 0, 0, 0, 1, 2]),
      row("f", null, [0, 0, 0, 0, 0, 0, 0, 4]),
      row("g", null, [0, 0, 0, 0, 0, 0, 0, 0]),
    ]);
    expect(answer).toEqual([
      { status: "a", sum_note: "-12345678901234567888.623", avg_note: Number("-12345678901234567888.623") / 2 },
      { status: "b", sum_note: "2", avg_note: 1 },
      { status: "c", sum_note: "Infinity", avg_note: "Infinity" },
      { status: "d", sum_note: "NaN", avg_note: "NaN" },
      { status: "e", sum_note: "NaN", avg_note: "NaN" },
      { status: "f", sum_note: null, avg_note: null },
      { status: "g", sum_note: "0", avg_note: null },
    ]);
  });

  it("refuses text that is no number (400) and numbers too wide for an exact sum (422), from any group", () => {
    const built = q("sum:note");
    const withTotals = (totals: number[]) => [{ __g0: "a", __m0: null, __x0: [], __w0: totals.map(String) }];
    const err = (totals: number[]) => {
      try {
        aggregateAnswer(built, withTotals(totals));
      } catch (e) {
        return e as ApiError;
      }
      throw new Error("not refused");
    };
    expect(err([2, 0]).status).toBe(400);
    expect(err([2, 0]).errors[0]?.reason).toMatch(/note is text holding values that are not decimal numbers/);
    expect(err([0, 1]).status).toBe(422);
    expect(err([0, 1]).errors[0]?.field).toBe("metrics");
  });
});
