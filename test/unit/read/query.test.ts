import { describe, expect, it } from "vitest";
import { settingsClause, translateClickHouseError } from "../../../src/read/query.js";

describe("query guard", () => {
  it("is a SETTINGS clause of the query (never session-wide SETs)", () => {
    expect(settingsClause({ maxExecutionSeconds: 10, maxResultRows: 501, readonly: true })).toBe(
      " SETTINGS readonly = 2, max_execution_time = 10, max_result_rows = 501, result_overflow_mode = 'throw', compile_aggregate_expressions = 0",
    );
    expect(settingsClause({ maxExecutionSeconds: 0.5, maxResultRows: 10, readonly: false })).not.toMatch(/readonly/);
    expect(() => settingsClause({ maxExecutionSeconds: Number.NaN, maxResultRows: 10, readonly: false })).toThrow();
  });

  it("maps ClickHouse error types to our own problems without their text", () => {
    const err = (type: string) =>
      Object.assign(new Error(`Code: 1. DB::Exception: secret SQL text (${type})`), { type });
    expect(translateClickHouseError(err("CANNOT_PARSE_UUID")).status).toBe(400);
    expect(translateClickHouseError(err("TIMEOUT_EXCEEDED")).status).toBe(503);
    expect(translateClickHouseError(err("TOO_MANY_ROWS_OR_BYTES")).status).toBe(422);
    expect(translateClickHouseError(new Error("ECONNREFUSED")).status).toBe(503);
    for (const t of ["CANNOT_PARSE_UUID", "TIMEOUT_EXCEEDED", "SYNTAX_ERROR", "UNKNOWN_TABLE"]) {
      expect(JSON.stringify(translateClickHouseError(err(t)).toProblem())).not.toMatch(
        /DB::Exception|secret SQL|Code: 1/,
      );
    }
  });
});
