import { EnvelopeError } from "./envelope.js";

/**
 * The version (`_version`, `_lsn`) of a MySQL or MariaDB change event, from where it sits in the
 * source's binary log: `file number · 2^32 + pos + row`. Why this never lets an older change win
 * (docs/attach-mysql.md has the long form):
 *
 * - `pos` is where the event holding the row starts in its binlog file (Debezium's source.pos; a
 *   multi-row event gives every row the same pos and its index in `row`). A rows event holds at
 *   least one byte per row after its header, so `pos + row` stays below the next event's start:
 *   versions grow strictly along the binlog, within an event, across events of one transaction
 *   and across transactions (the binlog is written in commit order).
 * - Positions are 32-bit in the binlog's event headers, so the file number in the high 32 bits
 *   orders files: a rotation (size, FLUSH LOGS, a server restart, which always opens a new file)
 *   moves to file n+1 and every version there is higher than any in file n.
 * - Snapshot rows (op r) carry the position the snapshot was taken at, which is where the next
 *   event will be written: every change streamed after it starts at or after that position with
 *   a GTID/BEGIN event, so its rows event is strictly higher. Incremental-snapshot chunks carry the
 *   position at which Debezium emits the chunk (after its closing watermark), above every change
 *   the chunk's rows include and below every later one.
 */
export function binlogVersion(source: Record<string, unknown>): bigint {
  const file = source.file;
  const match = typeof file === "string" ? /\.(\d+)$/.exec(file) : null;
  if (!match) throw new EnvelopeError("not-envelope", `not a binlog position: source.file ${JSON.stringify(file)}`);
  const fileNo = BigInt(match[1] as string);
  const pos = uint(source.pos, "pos");
  const row = source.row === null || source.row === undefined ? 0n : uint(source.row, "row");
  if (fileNo >= 1n << 32n || pos + row >= 1n << 32n)
    throw new EnvelopeError("not-envelope", `binlog position ${file}:${pos}+${row} is past 32 bits`);
  return (fileNo << 32n) + pos + row;
}

function uint(v: unknown, name: string): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^\d+$/.test(v)) return BigInt(v);
  throw new EnvelopeError("not-envelope", `not a binlog position: source.${name} ${JSON.stringify(v)}`);
}

/** Debezium's `source.connector` of the connectors that read a binary log. */
export const BINLOG_CONNECTORS: ReadonlySet<string> = new Set(["mysql", "mariadb"]);

export const isBinlogSource = (source: Record<string, unknown>): boolean =>
  typeof source.connector === "string" && BINLOG_CONNECTORS.has(source.connector);

/** The file and position of a version, for messages and `status`. */
export function formatBinlogVersion(v: bigint): string {
  return `${(v >> 32n).toString().padStart(6, "0")}:${v & 0xffffffffn}`;
}
