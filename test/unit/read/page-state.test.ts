import { describe, expect, it } from "vitest";
import { columnKind, DEFAULT_STATE, formatState, isNullableType, parseState } from "../../../src/read/page/state.js";

/** The page's view state in the URL: shareable, survives a reload, `/` for the plain dashboard. */
describe("page view state in the URL", () => {
  it("writes only what differs from the defaults; the plain dashboard is /", () => {
    expect(formatState({ ...DEFAULT_STATE })).toBe("");
    expect(formatState({ ...DEFAULT_STATE, view: "explore" })).toBe("?view=explore");
  });

  it("round-trips an explore view with filters in the read API's own form", () => {
    const s = {
      ...DEFAULT_STATE,
      view: "explore" as const,
      table: "crm__customers",
      filters: ["status:eq:paid", "note:in:a,b", "email:eq:x&y=z"],
      order: "amount:desc",
      after: "WyIxIl0",
      chart: "time" as const,
      by: "placed_at",
      bucket: "week" as const,
      metric: "sum:amount",
    };
    const text = formatState(s);
    expect(text).toBe(
      "?view=explore&table=crm__customers&filter=status%3Aeq%3Apaid&filter=note%3Ain%3Aa%2Cb&filter=email%3Aeq%3Ax%26y%3Dz" +
        "&order=amount%3Adesc&after=WyIxIl0&chart=time&by=placed_at&bucket=week&metric=sum%3Aamount",
    );
    expect(parseState(text)).toEqual(s);
  });

  it("falls back to defaults for values it does not know", () => {
    const s = parseState("?view=admin&range=9999&bucket=minute&chart=pie&refresh=1");
    expect([s.view, s.range, s.bucket, s.chart, s.refresh]).toEqual(["shop", "30", "day", "", "5000"]);
  });

  it("knows the column kinds the explore view offers for charts and filters", () => {
    expect(columnKind("Nullable(Decimal(10, 2))")).toBe("number");
    expect(columnKind("LowCardinality(Nullable(String))")).toBe("text");
    expect(columnKind("DateTime64(6, 'UTC')")).toBe("time");
    expect(columnKind("Date32")).toBe("date");
    expect(columnKind("Array(String)")).toBe("other");
    expect(isNullableType("Nullable(Date32)")).toBe(true);
    expect(isNullableType("LowCardinality(Nullable(String))")).toBe(true);
    expect(isNullableType("Int32")).toBe(false);
  });
});
