import { describe, expect, it } from "vitest";
import { DEFAULT_DOMAIN_TABLES } from "../../../src/read/app.js";
import {
  customersSql,
  dashboardSchemas,
  resolveRange,
  revenueSql,
  topProductsSql,
} from "../../../src/read/dashboard.js";

const s = dashboardSchemas({ maxRangeDays: 366, maxRows: 10_000 });

describe("dashboard parameters", () => {
  it("defaults: last 30 days, day buckets, non-cancelled statuses left to the route", () => {
    const q = s.revenue.parse({});
    expect(q.granularity).toBe("day");
    const r = resolveRange(q.from, q.to, Date.parse("2024-06-01T00:00:00Z"));
    expect(r.fromText).toBe("2024-05-02 00:00:00.000000");
    expect(r.toText).toBe("2024-06-01 00:00:00.000000");
  });

  it("rejects reversed and huge ranges, hour buckets over a long range, bad statuses, unknown keys", () => {
    const issues = (schema: typeof s.revenue | typeof s.topProducts, q: Record<string, unknown>) =>
      (schema.safeParse(q).error?.issues ?? []).map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(issues(s.revenue, { from: "2024-02-01T00:00:00Z", to: "2024-01-01T00:00:00Z" })).toEqual([
      "from: must be before to",
    ]);
    expect(issues(s.revenue, { from: "1990-01-01T00:00:00Z", to: "2024-01-01T00:00:00Z" })[0]).toMatch(
      /at most 366 days/,
    );
    expect(
      issues(s.revenue, { from: "2024-01-01T00:00:00Z", to: "2024-03-01T00:00:00Z", granularity: "hour" })[0],
    ).toMatch(/^granularity: hour buckets/);
    expect(issues(s.revenue, { granularity: "minute" })[0]).toMatch(/^granularity/);
    expect(issues(s.revenue, { statuses: "paid,'; DROP" })[0]).toMatch(/^statuses/);
    expect(issues(s.revenue, { from: "2024-01-01' OR 1=1" })[0]).toMatch(/^from/);
    expect(issues(s.revenue, { sql: "SELECT 1" })[0]).toMatch(/sql/);
    expect(issues(s.topProducts, { limit: "100000" })[0]).toMatch(/^limit/);
    expect(issues(s.topProducts, { limit: "-1" })[0]).toMatch(/^limit/);
    expect(issues(s.topProducts, { by: "price" })[0]).toMatch(/^by/);
  });
});

describe("dashboard SQL", () => {
  const r = resolveRange("2024-01-01T00:00:00Z", "2024-01-08T00:00:00Z");
  it("reads FINAL, excludes deleted rows, binds every value", () => {
    const q = revenueSql("sidecar", DEFAULT_DOMAIN_TABLES, r, "week", ["paid"]);
    expect(q.sql).toContain("FROM `sidecar`.`shop__orders` FINAL WHERE _deleted = 0");
    expect(q.sql).toContain("toMonday");
    expect(q.params).toEqual({
      p0: "2024-01-01 00:00:00.000000",
      p1: "2024-01-08 00:00:00.000000",
      p2: "paid",
      p3: "2024-01-01 00:00:00",
      p4: "2024-01-08 00:00:00",
    });
    // Every week of the range is a point, with or without orders.
    expect(q.sql).toContain(
      "ORDER BY b WITH FILL FROM {p3:DateTime('UTC')} TO {p4:DateTime('UTC')} STEP INTERVAL 1 WEEK",
    );
    const t = topProductsSql("sidecar", DEFAULT_DOMAIN_TABLES, r, ["paid", "shipped"], "units", 7);
    expect(t.sql).toMatch(/`sidecar`\.`shop__order_lines` FINAL\s+WHERE _deleted = 0/);
    expect(t.sql).toContain("ORDER BY units DESC, revenue DESC, product_id");
    expect(Object.values(t.params)).toContain("7");
  });

  it("fills a range that ends inside a bucket up to that bucket's end", () => {
    const mid = resolveRange("2024-01-01T10:30:00Z", "2024-01-03T00:00:00.000001Z");
    const day = revenueSql("sidecar", DEFAULT_DOMAIN_TABLES, mid, "day", ["paid"]);
    expect([day.params.p3, day.params.p4]).toEqual(["2024-01-01 00:00:00", "2024-01-04 00:00:00"]);
    const c = customersSql("sidecar", DEFAULT_DOMAIN_TABLES, mid, "hour", ["paid"]);
    expect(c.sql).toMatch(
      /GROUP BY b ORDER BY b WITH FILL FROM \{p\d:DateTime\('UTC'\)\} TO \{p\d:DateTime\('UTC'\)\} STEP INTERVAL 1 HOUR/,
    );
    expect(Object.values(c.params)).toEqual(expect.arrayContaining(["2024-01-01 10:00:00", "2024-01-03 01:00:00"]));
  });
});
