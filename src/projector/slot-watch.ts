import { targetTableName } from "../cdc/table.js";
import type { Logger } from "../shared/logger.js";
import type { SlotReading } from "./slot-metrics.js";

/** What marks a table degraded (the projector's TableHealth). */
export type MarkDegraded = (target: string, source: string, reason: string) => void;

/** The degraded reason of a table whose connector's slot Postgres invalidated. */
export function lostSlotReason(r: SlotReading): string {
  const attachment = r.source.slot.match(/^sidecar_attach_(.+)$/)?.[1];
  const repair = attachment
    ? `cqrs-sidecar repair --name ${attachment} re-creates the slot and copies the tables again`
    : "drop the slot and register the connector again, then re-copy";
  return `replication slot ${r.source.slot} was invalidated (wal_status lost: more WAL than max_slot_wal_keep_size passed while ${r.source.connector} was not reading it): changes are missing and the connector cannot resume; ${repair}`;
}

/**
 * Watches the Postgres connectors' slots: one that Postgres invalidated has lost changes for good,
 * so every table its connector captures is marked degraded (reads, /ready, the metric and the
 * DegradedTables alert say so) rather than being served as if whole.
 */
export function watchLostSlots(
  slots: () => Promise<SlotReading[]>,
  mark: MarkDegraded,
  log: Logger,
  intervalMs = 10_000,
): { stop: () => void } {
  const check = async () => {
    for (const r of await slots())
      if (r.walStatus === "lost")
        for (const t of r.source.tables)
          mark(targetTableName(t.schema, t.table), `${t.schema}.${t.table}`, lostSlotReason(r));
  };
  const timer = setInterval(() => {
    check().catch((err) => log.warn({ err: (err as Error).message }, "slot watch failed; will retry"));
  }, intervalMs);
  return { stop: () => clearInterval(timer) };
}
