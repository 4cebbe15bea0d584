/**
 * Which failures to retry and which to set aside. A transient failure (ClickHouse or Kafka away,
 * a time-out, too many parts) goes away by waiting; a deterministic one (a ClickHouse error about
 * the statement or the data) fails the same way on every attempt, and retrying it forever is how
 * one event stopped the whole pipeline.
 */
export type FailureKind = "transient" | "deterministic";

/** ClickHouse error codes that mean "try again later", not "this statement is wrong". */
const TRANSIENT_CLICKHOUSE_CODES = new Set([
  "3", // UNEXPECTED_END_OF_FILE
  "32", // ATTEMPT_TO_READ_AFTER_EOF
  "159", // TIMEOUT_EXCEEDED
  "160", // TOO_SLOW
  "164", // READONLY: the server (or its user) refuses writes for now
  "202", // TOO_MANY_SIMULTANEOUS_QUERIES
  "203", // NO_FREE_CONNECTION
  "209", // SOCKET_TIMEOUT
  "210", // NETWORK_ERROR
  "236", // ABORTED
  "241", // MEMORY_LIMIT_EXCEEDED
  "242", // TABLE_IS_READ_ONLY
  "243", // NOT_ENOUGH_SPACE: the disk is full (chDB's and a server's insert cannot reserve space)
  "252", // TOO_MANY_PARTS
  "285", // TOO_FEW_LIVE_REPLICAS
  "319", // UNKNOWN_STATUS_OF_INSERT
  "394", // QUERY_WAS_CANCELLED
  "425", // SYSTEM_ERROR
  "473", // DEADLOCK_AVOIDED
  "999", // KEEPER_EXCEPTION
  "1000", // POCO_EXCEPTION
]);

/**
 * The server's disk refuses writes (full, over quota, mounted read-only), whatever code the error
 * came with (a failed write of a file is CANNOT_WRITE_TO_FILE_DESCRIPTOR or STD_EXCEPTION): it is
 * waited out, never taken for a bad row (that set a batch aside on the dead-letter topic).
 */
const DISK_REFUSED = /No space left on device|not enough space|Disk quota exceeded|Read-only file system/i;

/** ClickHouse says the table or a column it was told about is not there (dropped or altered by hand). */
const MISSING_OBJECT_CODES = new Set(["16", "47", "60", "81"]);

/** The ClickHouse error code, over HTTP (`code`) or from chDB (`clickhouseCode`, possibly on the cause). */
export function clickHouseCode(err: unknown): string | undefined {
  for (
    let e = err as { code?: unknown; clickhouseCode?: unknown; cause?: unknown } | null, depth = 0;
    e && depth < 3;
    depth++
  ) {
    for (const code of [e.code, e.clickhouseCode]) {
      if (typeof code === "number") return String(code);
      if (typeof code === "string" && /^\d+$/.test(code)) return code;
    }
    e = e.cause as typeof e;
  }
  return undefined;
}

/** Whether the failure is the disk refusing writes (full, over quota, read-only). */
export function isDiskRefused(err: unknown): boolean {
  return DISK_REFUSED.test((err as Error | null)?.message ?? "") || clickHouseCode(err) === "243";
}

export function classifyFailure(err: unknown): FailureKind {
  if (isDiskRefused(err)) return "transient";
  const code = clickHouseCode(err);
  if (code !== undefined) return TRANSIENT_CLICKHOUSE_CODES.has(code) ? "transient" : "deterministic";
  // Programming and conversion errors repeat; anything else without a ClickHouse code (sockets,
  // Kafka, time-outs) is the infrastructure and is waited out.
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) return "deterministic";
  if ((err as Error | null)?.name === "ProjectionConflict") return "deterministic";
  if ((err as { retriable?: unknown } | null)?.retriable === false) return "deterministic";
  return "transient";
}

/** The projection's table or one of its columns is missing: the schema is synced again and the table degraded. */
export function isMissingObject(err: unknown): boolean {
  const code = clickHouseCode(err);
  if (code !== undefined && MISSING_OBJECT_CODES.has(code)) return true;
  // An insert naming a column the table lacks (INCORRECT_DATA with input_format_skip_unknown_fields = 0).
  return /Unknown field found while parsing/.test((err as Error | null)?.message ?? "");
}

/** A deterministic failure that kept failing: the caller sets the event aside (dead-letter topic). */
export class DeterministicFailure extends Error {
  constructor(
    readonly stage: string,
    override readonly cause: Error,
    readonly attempts: number,
  ) {
    super(`${stage} failed ${attempts} time(s) the same way: ${cause.message.split("\n")[0]?.slice(0, 400)}`);
    this.name = "DeterministicFailure";
  }
}

/** ClickHouse refused the data itself (parse, type, range): some rows of an insert are poison, the rest can be stored. */
export function isDataError(err: unknown): boolean {
  if (isMissingObject(err)) return false;
  const message = (err as Error).message ?? "";
  // A code, when ClickHouse gave one (as a field or in the text), decides: a statement-level
  // error worded "Cannot parse" is not the rows' fault, and halving would only repeat it.
  const code = clickHouseCode(err) ?? /\bCode: (\d+)\./.exec(message)?.[1];
  if (code) return DATA_CODES.has(code);
  return /Cannot parse|CANNOT_PARSE|Type mismatch|out of range|ARGUMENT_OUT_OF_BOUND|INCORRECT_DATA/i.test(message);
}

const DATA_CODES = new Set(["6", "26", "27", "38", "41", "53", "69", "70", "72", "117", "131", "321", "407"]);
