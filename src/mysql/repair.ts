import type { Kafka } from "kafkajs";
import { AttachError } from "../attach/attach.js";
import { repairSteps, rereadInPlace } from "../attach/repair.js";
import { attachNames, type TableRef, tableName } from "../attach/tables.js";
import type { ProjectionReader } from "../attach/verify.js";
import { binlogVersion } from "../cdc/binlog-version.js";
import { targetTableName } from "../cdc/table.js";
import { signalTableOf } from "../connect/connect-client.js";
import type { MysqlDeps } from "./attach.js";
import { signalSnapshot } from "./attach.js";
import { currentBinlog } from "./binlog.js";
import { capturedTables, notificationTopic, signalTable } from "./connector.js";
import { verifyMysqlAttachment } from "./verify.js";

/**
 * repair for a MySQL/MariaDB table, as for Postgres (src/attach/repair.ts): verify; identical →
 * only the degraded mark is cleared; otherwise an incremental snapshot re-reads it in place, the
 * rows neither re-read nor changed since it began are deleted (version-aware, at the binlog
 * position it began at), verify again, and the mark is cleared only when identical.
 */
export async function repairMysqlTable(
  deps: MysqlDeps & { kafka: Kafka; reader: ProjectionReader },
  name: string,
  ref: TableRef,
  timeoutMs = 30 * 60_000,
): Promise<void> {
  const connector = attachNames(name).connector;
  const attached = (await capturedTables(deps.connect, connector)) ?? [];
  if (!attached.some((t) => tableName(t) === tableName(ref)))
    throw new AttachError(`${tableName(ref)} is not attached under ${name}`);
  const target = targetTableName(ref.schema, ref.table);
  const opts = { tables: tableName(ref), examples: 3, waitMs: 120_000, chunkRows: 10_000 };
  await repairSteps({ ...deps, out: deps.io.out }, ref, {
    verify: () => verifyMysqlAttachment(deps, deps.reader, name, opts),
    resnapshot: () => resnapshot(deps, connector, ref, target, timeoutMs),
  });
}

async function resnapshot(
  deps: MysqlDeps & { kafka: Kafka },
  connector: string,
  ref: TableRef,
  target: string,
  timeoutMs: number,
) {
  const at = await currentBinlog(deps.pool);
  // The table the connector reads (one of its own, or the shared one of an attachment made before).
  const signal = await signalTableOf(deps.connect, connector, signalTable(connector));
  await rereadInPlace({ ...deps, log: deps.io.out }, ref, target, {
    begin: binlogVersion({ file: at.file, pos: at.pos, row: 0 }).toString(),
    notifications: notificationTopic(deps.config.TOPIC_PREFIX, connector),
    signal: async (id) => {
      await signalSnapshot(deps.pool, signal, [ref], id);
    },
    timeoutMs,
  });
}
