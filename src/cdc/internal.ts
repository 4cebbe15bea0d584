import { HEARTBEAT_TABLE } from "../connect/apply.js";

/**
 * Source tables that belong to the sidecar itself, never projected as user tables:
 * - schema `sidecar` (what `attach` creates in a database it did not create: sidecar.heartbeat,
 *   sidecar.debezium_signal, and anything the sidecar adds there later);
 * - the demo connector's heartbeat table public.sidecar_heartbeat.
 * Their events still move the projector's watermark (they flow through the slot in commit order),
 * which is the point of a heartbeat; otherwise they are dropped.
 */
export const INTERNAL_SCHEMA = "sidecar";

export function isInternalTable(schema: string, table: string): boolean {
  return schema === INTERNAL_SCHEMA || `${schema}.${table}` === HEARTBEAT_TABLE;
}

/** A MySQL/MariaDB connector's beat (sidecar.beat, src/mysql/connector.ts): its binlog version and UTC time. */
export interface Beat {
  connector: string;
  version: bigint;
  timeUs: bigint;
}

/** The beat an event carries, if it is one (DATETIME(6) arrives as µs since the epoch, written in UTC). */
export function beatOf(ev: {
  schema: string;
  table: string;
  lsn: bigint;
  after: Record<string, unknown> | null;
}): Beat | undefined {
  if (ev.schema !== INTERNAL_SCHEMA || ev.table !== "beat" || !ev.after) return undefined;
  const { connector, beat_at: at } = ev.after;
  if (typeof connector !== "string" || typeof at !== "number" || !Number.isSafeInteger(at)) return undefined;
  return { connector, version: ev.lsn, timeUs: BigInt(at) };
}
