import { ApiError } from "../http/problem.js";

/** Node socket errors and Postgres SQLSTATEs that mean "the database is not there right now". */
const UNAVAILABLE_NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "EAI_AGAIN",
]);
const UNAVAILABLE_SQLSTATES = new Set([
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, recovery)
  "53300", // too_many_connections
  "57014", // query_canceled (statement_timeout): the database is overloaded or stuck
  "40P01", // deadlock_detected, after the transaction retries ran out
  "40001", // serialization_failure, idem
]);
const UNAVAILABLE_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /query read timeout/i,
  /connection timeout/i,
  /client has encountered a connection error/i,
  /cannot use a pool after calling end/i,
];

export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  if (err instanceof AggregateError && err.errors.some(isDatabaseUnavailable)) return true;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === "string") {
    if (UNAVAILABLE_NODE_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith("08")) return true;
  }
  return typeof message === "string" && UNAVAILABLE_MESSAGES.some((re) => re.test(message));
}

/** The error translator the write app gives its error handler: database down → 503 with Retry-After. */
export function createDbErrorTranslator({ retryAfterSeconds = 2 }: { retryAfterSeconds?: number } = {}) {
  return function translateDbError(err: unknown): ApiError | undefined {
    if (!isDatabaseUnavailable(err)) return undefined;
    return new ApiError({
      status: 503,
      title: "Database Unavailable",
      detail: "the database cannot be reached right now; retry later (with the same Idempotency-Key)",
      headers: { "Retry-After": String(retryAfterSeconds) },
      cause: err instanceof Error ? err.message : err,
    });
  };
}

/** The Postgres constraint an error violated, if any (unique, foreign key, check). */
export function violatedConstraint(err: unknown): { code: string; constraint: string } | undefined {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  if (e && typeof e.code === "string" && typeof e.constraint === "string" && e.code.startsWith("23")) {
    return { code: e.code, constraint: e.constraint };
  }
  return undefined;
}
