import type { ClickHouse } from "../clickhouse/client.js";
import { ApiError } from "../http/problem.js";
import type { Logger } from "../shared/logger.js";

/**
 * Runs the read API's queries with the limits that protect the server, and turns
 * ClickHouse failures into problems that never carry SQL, server text or internals
 * (the original error goes to the log with the request id, not to the client).
 */
export interface QueryGuard {
  /** ClickHouse max_execution_time, seconds. */
  maxExecutionSeconds: number;
  /** Largest result a query may produce (rows); ClickHouse stops past it (max_result_rows, throw). */
  maxResultRows: number;
  /**
   * Also send readonly=2 with each query (no writes, no DDL). Right for an embedded engine shared with
   * the projector; leave off for a server user whose profile already sets readonly (it may not be changed).
   */
  readonly: boolean;
}

/**
 * The guard as a SETTINGS clause of the query itself. Not `clickhouse_settings`: the embedded
 * connection turns those into session-wide `SET`s, which would leak readonly and the row limit
 * into the projector's queries on the shared session. A SETTINGS clause binds one query only,
 * on either transport.
 *
 * `compile_aggregate_expressions = 0`: ClickHouse JIT-compiles an aggregation once the same one
 * has run a few times (min_count_to_compile_aggregate_expression, 3), and the compiled min/max
 * compare DateTime64 as unsigned (ClickHouse issue 113942, fixed upstream by PR 114168): from
 * the next run on, min/max of a group with values on both sides of 1970 came back swapped. Every
 * read query runs interpreted; exact answers matter more than the JIT's speed-up.
 */
export function settingsClause(g: QueryGuard, extra: QuerySettings = {}): string {
  const maxRows = Math.floor(g.maxResultRows);
  const seconds = Number(g.maxExecutionSeconds);
  if (!Number.isInteger(maxRows) || maxRows < 1 || !Number.isFinite(seconds) || seconds <= 0) {
    throw new Error("invalid read query guard");
  }
  const parts = [
    ...(g.readonly ? ["readonly = 2"] : []),
    `max_execution_time = ${seconds}`,
    `max_result_rows = ${maxRows}`,
    "result_overflow_mode = 'throw'",
    "compile_aggregate_expressions = 0",
  ];
  for (const [name, value] of Object.entries(extra)) {
    // Settings come from the code (e.g. BUCKET_SETTINGS), never from a request; checked all the same.
    if (!/^[a-z_]+$/.test(name) || !Number.isInteger(value)) throw new Error(`invalid query setting ${name}`);
    parts.push(`${name} = ${value}`);
  }
  return ` SETTINGS ${parts.join(", ")}`;
}

/** Extra per-query settings (integers) a query builder asks for, on top of the guard. */
export type QuerySettings = Readonly<Record<string, number>>;

export interface RunQuery {
  <T = Record<string, unknown>>(sql: string, params: Record<string, unknown>, settings?: QuerySettings): Promise<T[]>;
  /**
   * The rows one at a time, for answers streamed to the client (CSV). Errors before the first row
   * are thrown as problems like run()'s; a failure later ends the stream.
   */
  stream(
    sql: string,
    params: Record<string, unknown>,
    settings?: QuerySettings,
  ): Promise<AsyncGenerator<Record<string, unknown>>>;
}

export function createQueryRunner(
  ch: ClickHouse,
  guard: QueryGuard,
  observe?: (seconds: number, ok: boolean) => void,
  log?: Logger,
): RunQuery {
  const rejected = (err: unknown) => {
    const problem = translateClickHouseError(err, guard);
    // 4xx leave no trace in the error handler's log: keep ClickHouse's own words here, server side only.
    if (problem.status < 500)
      log?.info({ type: typeOf(err), err: (err as Error).message }, "ClickHouse rejected a read query");
    return problem;
  };
  const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
  const query = (sql: string, params: Record<string, unknown>, settings?: QuerySettings) =>
    ch.query({ query: `${sql}${settingsClause(guard, settings)}`, query_params: params, format: "JSONEachRow" });

  async function runQuery<T>(sql: string, params: Record<string, unknown>, settings?: QuerySettings): Promise<T[]> {
    const start = process.hrtime.bigint();
    let ok = false;
    try {
      const rows = await (await query(sql, params, settings)).json<T>();
      ok = true;
      return rows;
    } catch (err) {
      throw rejected(err);
    } finally {
      observe?.(seconds(start), ok);
    }
  }

  async function stream(sql: string, params: Record<string, unknown>, settings?: QuerySettings) {
    const start = process.hrtime.bigint();
    const rs = await query(sql, params, settings).catch((err: unknown) => {
      observe?.(seconds(start), false);
      throw rejected(err);
    });
    return (async function* rows() {
      let ok = false;
      try {
        for await (const batch of rs.stream()) for (const row of batch) yield row.json<Record<string, unknown>>();
        ok = true;
      } finally {
        rs.close();
        observe?.(seconds(start), ok);
      }
    })();
  }

  return Object.assign(runQuery, { stream }) as RunQuery;
}

const VALUE_ERRORS = new Set([
  "CANNOT_PARSE_TEXT",
  "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
  "CANNOT_PARSE_QUOTED_STRING",
  "CANNOT_PARSE_DATE",
  "CANNOT_PARSE_DATETIME",
  "CANNOT_PARSE_NUMBER",
  "CANNOT_PARSE_UUID",
  "CANNOT_PARSE_BOOL",
  "CANNOT_PARSE_ESCAPE_SEQUENCE",
  "CANNOT_CONVERT_TYPE",
  "BAD_QUERY_PARAMETER",
  "TYPE_MISMATCH",
  "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
  "DECIMAL_OVERFLOW",
  "ARGUMENT_OUT_OF_BOUND",
  "UNKNOWN_ELEMENT_OF_ENUM",
  "ILLEGAL_TYPE_OF_ARGUMENT",
  "NO_COMMON_TYPE",
]);

const TOO_BIG = new Set([
  "TOO_MANY_ROWS",
  "TOO_MANY_ROWS_OR_BYTES",
  "TOO_MANY_BYTES",
  "MEMORY_LIMIT_EXCEEDED",
  "TOO_MANY_ROWS_OR_BYTES_TO_READ",
]);

function typeOf(err: unknown): string | undefined {
  if (err && typeof err === "object" && "type" in err && typeof (err as { type: unknown }).type === "string") {
    return (err as { type: string }).type;
  }
  return undefined;
}

/** A ClickHouse (or transport) failure → an ApiError whose text is ours alone; `cause` keeps the original for the log. */
export function translateClickHouseError(err: unknown, guard?: Pick<QueryGuard, "maxExecutionSeconds">): ApiError {
  if (err instanceof ApiError) return err;
  const type = typeOf(err);
  if (type && VALUE_ERRORS.has(type)) {
    return new ApiError({
      status: 400,
      title: "Validation Failed",
      detail: "a value does not fit the type of the column it is compared with",
      errors: [{ field: "filter", reason: "value does not fit the column's type" }],
      cause: err,
    });
  }
  if (type === "TIMEOUT_EXCEEDED" || type === "TIMEOUT_EXCEEDED_WHILE_READING") {
    return new ApiError({
      status: 503,
      title: "Query Too Slow",
      detail: `the query ran past the read time limit${guard ? ` of ${guard.maxExecutionSeconds}s` : ""}; narrow the filters or the range`,
      headers: { "Retry-After": "1" },
      cause: err,
    });
  }
  if (type && TOO_BIG.has(type)) {
    return new ApiError({
      status: 422,
      title: "Result Too Large",
      detail: "the query would produce more data than the read API allows; narrow it or page through it",
      cause: err,
    });
  }
  if (type === "UNKNOWN_TABLE" || type === "UNKNOWN_DATABASE") {
    return new ApiError({
      status: 503,
      title: "Projection Not Ready",
      detail: "the projection has not created this table yet",
      headers: { "Retry-After": "2" },
      cause: err,
    });
  }
  return new ApiError({
    status: 503,
    title: "ClickHouse Unavailable",
    detail: "the read store did not answer this query; the request id identifies it in the logs",
    headers: { "Retry-After": "1" },
    cause: err,
  });
}
