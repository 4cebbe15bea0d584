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
