import { describe, expect, it } from "vitest";
import { ApiError } from "../../../src/http/problem.js";
import { bucketExpr, bucketRange, bucketStart, nextBucket, toMicros } from "../../../src/read/buckets.js";
import { buildCatalog, type TableInfo } from "../../../src/read/catalog.js";
import { csvField, csvLine, truncatedLine } from "../../../src/read/csv.js";
import { buildAggregate, parseFilter, parseMetrics, parseOrder } from "../../../src/read/sql.js";
import { parseColumnType } from "../../../src/read/types.js";

/** SQL building for the explore view: time buckets with empty buckets filled, and CSV export lines. */
const catalog = buildCatalog(
  "sidecar",
  [{ name: "orders", engine: "ReplacingMergeTree", sorting_key: "id" }],
  [
    { table: "orders", name: "id", type: "Int64" },
    { table: "orders", name: "status", type: "LowCardinality(String)" },
    { table: "orders", name: "total", type: "Decimal(14, 2)" },
    { table: "orders", name: "placed_at", type: "DateTime64(6, 'UTC')" },
    { table: "orders", name: "shipped_at", type: "Nullable(DateTime64(6, 'UTC'))" },
    { table: "orders", name: "due", type: "Date32" },
    { table: "orders", name: "count", type: "Int32" },
    { table: "orders", name: "a:day", type: "String" },
    { table: "orders", name: "_deleted", type: "UInt8" },
  ],
);
const orders = catalog.tables.get("orders") as TableInfo;
const agg = (over: Partial<Parameters<typeof buildAggregate>[2]>) =>
  buildAggregate(
    "sidecar",
    orders,
    { metrics: parseMetrics("count"), groupBy: [], filters: [], order: [], limit: 100, ...over },
    1000,
  );

function errorsOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return (err as ApiError).errors;
  }
  throw new Error("expected a 400");
}

const us = (text: string) => toMicros(text);
const iso = (n: bigint) => new Date(Number(n / 1000n)).toISOString();

describe("bucket arithmetic (UTC, weeks from Monday)", () => {
  it("floors to hour, day, week and month and steps to the next one", () => {
    const t = us("2024-02-29 13:45:10.123456");
    expect(iso(bucketStart(t, "hour"))).toBe("2024-02-29T13:00:00.000Z");
    expect(iso(bucketStart(t, "day"))).toBe("2024-02-29T00:00:00.000Z");
    expect(iso(bucketStart(t, "week"))).toBe("2024-02-26T00:00:00.000Z"); // a Monday
    expect(iso(bucketStart(t, "month"))).toBe("2024-02-01T00:00:00.000Z");
    expect(iso(nextBucket(bucketStart(t, "month"), "month"))).toBe("2024-03-01T00:00:00.000Z");
    expect(iso(nextBucket(us("2024-12-01"), "month"))).toBe("2025-01-01T00:00:00.000Z");
  });

  it("is exact before 1970", () => {
    const t = us("1950-03-15 13:45:00");
    expect(iso(bucketStart(t, "day"))).toBe("1950-03-15T00:00:00.000Z");
    expect(iso(bucketStart(t, "week"))).toBe("1950-03-13T00:00:00.000Z");
    expect(iso(bucketStart(t, "hour"))).toBe("1950-03-15T13:00:00.000Z");
  });

  it("takes the range from gte/gt/lt/lte/eq filters; gt and lt exclude the value itself", () => {
    const dt = orders.byName.get("placed_at") as NonNullable<ReturnType<typeof orders.byName.get>>;
    const r = (bounds: { op: string; value: string }[], unit: "day" | "hour" = "day") => {
      const { from, to } = bucketRange(dt, bounds, unit);
      return [from === undefined ? undefined : iso(from), to === undefined ? undefined : iso(to)];
    };
    expect(
      r([
        { op: "gte", value: "2024-05-01 10:00:00.000000" },
        { op: "lt", value: "2024-05-03 00:00:00.000000" },
      ]),
    ).toEqual(["2024-05-01T00:00:00.000Z", "2024-05-03T00:00:00.000Z"]);
    expect(r([{ op: "lt", value: "2024-05-03 00:00:00.000001" }])).toEqual([undefined, "2024-05-04T00:00:00.000Z"]);
    expect(r([{ op: "lte", value: "2024-05-03 00:00:00.000000" }])).toEqual([undefined, "2024-05-04T00:00:00.000Z"]);
    expect(r([{ op: "gt", value: "2024-05-01 23:59:59.999999" }])).toEqual(["2024-05-02T00:00:00.000Z", undefined]);
    expect(r([{ op: "eq", value: "2024-05-01 10:30:00.000000" }], "hour")).toEqual([
      "2024-05-01T10:00:00.000Z",
      "2024-05-01T11:00:00.000Z",
    ]);
    // Two lower bounds: the later one wins.
    expect(
      r([
        { op: "gte", value: "2024-05-01 00:00:00.000000" },
        { op: "gte", value: "2024-05-05 00:00:00.000000" },
      ])[0],
    ).toBe("2024-05-05T00:00:00.000Z");
    const date = orders.byName.get("due") as NonNullable<ReturnType<typeof orders.byName.get>>;
    const d = bucketRange(
      date,
      [
        { op: "gt", value: "2024-05-01" },
        { op: "lt", value: "2024-05-03" },
      ],
      "day",
    );
    expect([iso(d.from as bigint), iso(d.to as bigint)]).toEqual([
      "2024-05-02T00:00:00.000Z",
      "2024-05-03T00:00:00.000Z",
    ]);
  });

  it("writes bucket expressions with one result type per family", () => {
    expect(bucketExpr("`t`", parseColumnType("DateTime('Europe/Berlin')"), "day")).toBe(
      "toDateTime64(toStartOfDay(`t`, 'UTC'), 0, 'UTC')",
    );
    expect(bucketExpr("`t`", parseColumnType("Nullable(DateTime64(3))"), "week")).toBe(
      "toDateTime64(toMonday(assumeNotNull(`t`), 'UTC'), 0, 'UTC')",
    );
    expect(bucketExpr("`d`", parseColumnType("Date"), "month")).toBe("toDate32(toStartOfMonth(`d`))");
  });
});

describe("buildAggregate with time buckets", () => {
  it("fills every bucket the filters allow: FROM/TO bound with the bucket type, STEP one bucket", () => {
    const q = agg({
      metrics: parseMetrics("count,sum:total,avg:total"),
      groupBy: ["placed_at:day"],
      filters: [parseFilter("placed_at:gte:2024-05-01T10:00:00Z", "f"), parseFilter("placed_at:lt:2024-05-08", "f")],
    });
    expect(q.sql).toBe(
      "SELECT toDateTime64(toStartOfDay(`placed_at`, 'UTC'), 0, 'UTC') AS `__g0`, count() AS `__m0`, sum(`total`) AS `__m1`," +
        " toNullable(avg(`total`)) AS `__m2` FROM `sidecar`.`orders` FINAL" +
        " WHERE `_deleted` = 0 AND `placed_at` >= {p0:DateTime64(6, 'UTC')} AND `placed_at` < {p1:DateTime64(6, 'UTC')}" +
        " GROUP BY `__g0` ORDER BY `__g0` ASC WITH FILL FROM {p2:DateTime64(0, 'UTC')} TO {p3:DateTime64(0, 'UTC')} STEP INTERVAL 1 DAY" +
        " LIMIT {p4:UInt64}",
    );
    expect(q.params).toMatchObject({ p2: "2024-05-01 00:00:00", p3: "2024-05-08 00:00:00", p4: "101" });
    expect(q.keys).toEqual({ __g0: "placed_at", __m0: "count", __m1: "sum_total", __m2: "avg_total" });
    expect(q.settings).toEqual({ enable_extended_results_for_datetime_functions: 1 });
    expect(q.series).toEqual({ column: "placed_at", bucket: "day", filled: true });
  });

  it("fills between the data's own first and last bucket without range filters; other groups come first", () => {
    const q = agg({ groupBy: ["status", "due:week"] });
    expect(q.sql).toContain("toDate32(toMonday(`due`)) AS `__g1`");
    expect(q.sql).toContain("ORDER BY `__g0` ASC, `__g1` ASC WITH FILL STEP INTERVAL 1 WEEK LIMIT");
  });

  it("leaves NULL times out of a series", () => {
    const q = agg({ groupBy: ["shipped_at:month"] });
    expect(q.sql).toContain("WHERE `_deleted` = 0 AND `shipped_at` IS NOT NULL GROUP BY");
    expect(q.sql).toContain("toStartOfMonth(assumeNotNull(`shipped_at`), 'UTC')");
  });

  it("does not fill when ordered by something else than time ascending", () => {
    const q = agg({ groupBy: ["placed_at:hour"], order: parseOrder("count:desc") });
    expect(q.sql).not.toContain("WITH FILL");
    expect(q.sql).toContain("ORDER BY `__m0` DESC");
    expect(q.series?.filled).toBe(false);
    expect(agg({ groupBy: ["placed_at:hour"], order: parseOrder("placed_at") }).series?.filled).toBe(true);
  });

  it("a column named like a metric or with a colon in its name stays a column", () => {
    const q = agg({
      metrics: parseMetrics("count,sum:count"),
      groupBy: ["a:day"],
      filters: [parseFilter("count:gt:1", "f")],
    });
    expect(q.sql).toContain("`a:day` AS `__g0`");
    expect(q.sql).toContain("`count` > {p0:Int32}"); // the column, never the count() alias
    expect(Object.values(q.keys)).toEqual(["a:day", "count", "sum_count"]);
  });

  it("rejects buckets of other types, unknown units, hours of a date, two bucketed columns", () => {
    expect(errorsOf(() => agg({ groupBy: ["status:day"] }))[0]?.reason).toMatch(/not a date or date-time/);
    expect(errorsOf(() => agg({ groupBy: ["placed_at:minute"] }))[0]?.reason).toMatch(/hour\|day\|week\|month/);
    expect(errorsOf(() => agg({ groupBy: ["due:hour"] }))[0]?.reason).toMatch(/date: hour buckets/);
    expect(errorsOf(() => agg({ groupBy: ["placed_at:day", "due:day"] }))[0]?.reason).toMatch(/at most one/);
    expect(errorsOf(() => agg({ groupBy: ["placed_at:day", "placed_at"] }))[0]?.reason).toMatch(/named twice/);
    expect(errorsOf(() => agg({ groupBy: ["nope:day"] }))[0]).toEqual({
      field: "groupBy",
      reason: "unknown column of orders",
    });
  });
});

describe("CSV lines (as Postgres COPY … CSV writes them)", () => {
  it('quotes only what needs it; NULL is empty, an empty string is ""', () => {
    expect(csvLine([1, "a", null, "", 'say "hi"', "x,y", "line\nbreak", true, "12.50"])).toBe(
      '1,a,,"","say ""hi""","x,y","line\nbreak",true,12.50\n',
    );
    expect(csvField(["a", null])).toBe('"[""a"",null]"');
    expect(csvField({ k: 1 })).toBe('"{""k"":1}"');
    expect(truncatedLine(10)).toMatch(/^# truncated: more than 10 rows match.*READ_MAX_ROWS/);
  });
});
