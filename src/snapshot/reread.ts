import { randomBytes } from "node:crypto";
import { ConnectClient } from "../connect/connect-client.js";
import { connectorHealth } from "../projector/pipeline-sources.js";
import type { ClickHouseSink } from "../projector/sink.js";
import { copySnapshot } from "./copy.js";
import { createExportedSlot, snapshotVersion } from "./slot.js";

export interface RereadDeps {
  connectUrl: string | undefined;
  /** How the sidecar reaches a connector's database (pipeline-sources.ts reachVia). */
  reach: (url: URL) => URL;
  sink: ClickHouseSink;
  database: string;
}

/**
 * Reads one projected table again from its Postgres source, in place, while everything streams
 * on: the sidecar's copy as attach --add runs it (a temporary slot pins a snapshot and the
 * position it is consistent at; the copied rows are versioned just below every change streamed
 * after it, and rows the snapshot no longer holds are deleted at that version). The source is
 * the Postgres connector that captures the table, reached with its own credentials (Kafka
 * Connect's config), as the sidecar's copy for attach is. Resolves to undefined when done, or to
 * why it cannot.
 */
export async function rereadFromSource(deps: RereadDeps, source: string): Promise<string | undefined> {
  if (!deps.connectUrl) return "this projector was started without Kafka Connect's URL";
  const dot = source.indexOf(".");
  const ref = { schema: source.slice(0, dot), table: source.slice(dot + 1) };
  const captured = connectorHealth(await new ConnectClient(deps.connectUrl).connectorsExpanded(), deps.reach)
    .flatMap((c) => (c.postgres ? [c.postgres] : []))
    .find((s) => s.tables.some((t) => t.schema === ref.schema && t.table === ref.table));
  if (!captured) return `no Postgres connector captures ${source} (a MySQL/MariaDB table is read again by repair)`;
  const slot = await createExportedSlot(captured.databaseUrl, `sidecar_reread_${randomBytes(6).toString("hex")}`, true);
  try {
    const result = await copySnapshot(
      {
        databaseUrl: captured.databaseUrl,
        snapshotName: slot.snapshotName,
        meta: { version: snapshotVersion(slot), lsn: slot.consistentPoint, commitTs: slot.createdAt },
        tables: [ref],
        database: deps.database,
      },
      deps.sink,
    );
    const left = [...Object.keys(result.refused), ...Object.keys(result.unsupported)];
    return left.length > 0 ? `the copy left rows out of ${left.join(", ")}` : undefined;
  } finally {
    await slot.release();
  }
}
