import type { ClickHouse } from "../clickhouse/client.js";
import { ClickHouseSink } from "../projector/sink.js";
import { TableHealth } from "../projector/table-health.js";
import { type ControlCommand, sendControl } from "../shared/control.js";
import { createKafka } from "../shared/kafka.js";
import { createLogger } from "../shared/logger.js";
import { formatLsn } from "../shared/lsn.js";
import { type CopyResult, copySnapshot } from "../snapshot/copy.js";
import { recordCopyHealth } from "../snapshot/copy-health.js";
import type { SnapshotMeta } from "../snapshot/render.js";
import { createExportedSlot, type ExportedSlot, snapshotVersion } from "../snapshot/slot.js";
import type { AttachDeps } from "./attach.js";
import { formatProgressLine, type TableProgress } from "./progress.js";
import { attachNames, type TableRef } from "./tables.js";

/**
 * The initial snapshot done by the sidecar (docs/attach.md, "Snapshot"): the slot is created
 * here with an exported snapshot, the connector streams from it (snapshot.mode=no_data) while
 * the tables are copied inside that snapshot straight into ClickHouse. The copy runs where the
 * projection's ClickHouse is: in this process when the caller holds it (deps.clickhouse),
 * otherwise in the running sidecar, asked over the control topic. The sidecar reads Postgres'
 * address from the connector's config, so that config is written before the copy is asked for.
 *
 * Without `connector` (attach --add) the attachment's slot streams already, the new tables
 * included: a temporary slot only pins a snapshot and the position it is consistent at. Every
 * change committed after it is streamed with a higher LSN than the copy's version, every change
 * before it is in the copy, so the two meet exactly as on a first attach.
 */
export async function ownSnapshot(
  deps: AttachDeps,
  name: string,
  tables: TableRef[],
  totals: Map<string, number>,
  connector?: { write: () => Promise<void>; running: () => Promise<void> },
): Promise<CopyResult> {
  const names = attachNames(name);
  const databaseUrl = deps.config.DATABASE_URL;
  const slot = connector
    ? await createExportedSlot(databaseUrl, names.slot)
    : await createExportedSlot(databaseUrl, `${names.slot}_add`, true);
  deps.io.out(
    `${connector ? "slot" : "temporary slot"} ${slot.slot} created, consistent point ${formatLsn(slot.consistentPoint)}; copying`,
  );
  const meta: SnapshotMeta = { version: snapshotVersion(slot), lsn: slot.consistentPoint, commitTs: slot.createdAt };
  const display = progressDisplay(deps, totals);
  try {
    await connector?.write();
    // Streaming starts at once; the copy's rows are older than every streamed change (versions).
    const [, result] = await Promise.all([
      connector?.running(),
      deps.clickhouse
        ? copyHere(deps, deps.clickhouse, { databaseUrl, snapshotName: slot.snapshotName, meta, tables }, display.add)
        : copyInSidecar(deps, names.connector, slot, meta, tables, display.set),
    ]);
    display.done(result);
    return result;
  } finally {
    display.stop();
    await slot.release();
  }
}

/** The copy in this process (it holds ClickHouse); refused rows mark their tables degraded. */
async function copyHere(
  deps: AttachDeps,
  clickhouse: ClickHouse,
  job: Omit<Parameters<typeof copySnapshot>[0], "database">,
  onRows: (table: string, n: number) => void,
): Promise<CopyResult> {
  return copyWithSink(deps.config, clickhouse, (sink) =>
    copySnapshot({ ...job, database: deps.config.CLICKHOUSE_DATABASE }, sink, onRows),
  );
}

/** Runs a copy against a ClickHouse this process holds, then records its tables' health (copy-health.ts). */
export async function copyWithSink<R extends CopyResult>(
  config: AttachDeps["config"],
  clickhouse: ClickHouse,
  copy: (sink: ClickHouseSink) => Promise<R>,
): Promise<R> {
  const log = createLogger("warn");
  const sink = new ClickHouseSink(
    clickhouse,
    { database: config.CLICKHOUSE_DATABASE, cluster: config.CLICKHOUSE_CLUSTER },
    log,
  );
  const startedAt = new Date();
  const result = await copy(sink);
  const health = new TableHealth({ load: () => sink.loadHealth(), save: (e) => sink.saveHealth(e) }, log);
  await health.load();
  await recordCopyHealth(result, startedAt, health);
  return result;
}

async function copyInSidecar(
  deps: AttachDeps,
  connector: string,
  slot: ExportedSlot,
  meta: SnapshotMeta,
  tables: TableRef[],
  onProgress: (rows: Record<string, number>) => void,
): Promise<CopyResult> {
  const command = {
    op: "snapshot" as const,
    connector,
    snapshot: slot.snapshotName,
    version: meta.version.toString(),
    lsn: meta.lsn.toString(),
    commitTs: meta.commitTs,
    tables,
  };
  return askSidecarToCopy(deps.config, command, onProgress);
}

/** Asks the running sidecar (it holds ClickHouse) for a copy over the control topic, following its progress. */
export async function askSidecarToCopy(
  config: AttachDeps["config"],
  command: Extract<ControlCommand, { op: "snapshot" | "mysql-snapshot" }>,
  onProgress: (rows: Record<string, number>) => void,
): Promise<CopyResult> {
  const kafka = createKafka(config.KAFKA_BROKERS, "sidecar-attach-snapshot");
  const answer = await sendControl(kafka, config.TOPIC_PREFIX, command, {
    timeoutMs: 60_000,
    silentMs: 20_000,
    onProgress,
  });
  if (!answer.ok) throw new Error(`the sidecar's snapshot copy failed: ${answer.detail}`);
  return JSON.parse(answer.detail) as CopyResult;
}

/** Progress bar / lines: rows copied per table, rows/s and time left. */
export function progressDisplay(deps: Pick<AttachDeps, "io">, totals: Map<string, number>) {
  const copied = new Map<string, number>([...totals.keys()].map((t) => [t, 0]));
  let last = { at: Date.now(), rows: new Map(copied) };
  let lastPrint = 0;
  const rows = (): TableProgress[] =>
    [...totals].map(([table, total]) => {
      const n = copied.get(table) ?? 0;
      return { table, topic: "", total: Math.max(total, n), produced: n, projected: n };
    });
  const draw = (final = false) => {
    const now = Date.now();
    const rates = new Map<string, number>();
    for (const [t, n] of copied) rates.set(t, ((n - (last.rows.get(t) ?? 0)) * 1000) / Math.max(1, now - last.at));
    last = { at: now, rows: new Map(copied) };
    if (deps.io.progress) deps.io.progress(rows(), rates);
    else if (final || now - lastPrint >= 5_000) {
      for (const r of rows()) deps.io.out(formatProgressLine(r, rates.get(r.table) ?? 0));
      lastPrint = now;
    }
  };
  const timer = setInterval(() => draw(), 1_000);
  const started = Date.now();
  return {
    add: (table: string, n: number) => copied.set(table, (copied.get(table) ?? 0) + n),
    set: (all: Record<string, number>) => {
      for (const [t, n] of Object.entries(all)) copied.set(t, n);
    },
    done: (result: CopyResult) => {
      for (const [t, n] of Object.entries(result.rows)) copied.set(t, n);
      draw(true);
      const total = Object.values(result.rows).reduce((s, n) => s + n, 0);
      const secs = (Date.now() - started) / 1000;
      deps.io.out(
        `snapshot copied: ${total.toLocaleString("en-US")} rows in ${secs.toFixed(1)} s (${Math.round(total / Math.max(secs, 0.001)).toLocaleString("en-US")} rows/s); streaming changes now`,
      );
      for (const [t, r] of Object.entries(result.refused))
        deps.io.out(
          `${t}: ${r.rows} row(s) left out: values ClickHouse cannot hold exactly in ${r.columns.join(", ")} (preflight names them)`,
        );
    },
    stop: () => clearInterval(timer),
  };
}
