import { randomUUID } from "node:crypto";
import type { Kafka } from "kafkajs";
import { AttachError } from "../attach/attach.js";
import { repairSteps, waitForSnapshot } from "../attach/repair.js";
import { attachNames, type TableRef, tableName } from "../attach/tables.js";
import type { ProjectionReader } from "../attach/verify.js";
import { binlogVersion } from "../cdc/binlog-version.js";
import { targetTableName } from "../cdc/table.js";
import { sendControl } from "../shared/control.js";
import type { MysqlDeps } from "./attach.js";
import { currentBinlog } from "./binlog.js";
import { capturedTables, notificationTopic, SIGNAL_TABLE } from "./connector.js";
import { quoteMy } from "./source.js";
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
  const begin = binlogVersion({ file: at.file, pos: at.pos, row: 0 });
  const id = `repair-${randomUUID()}`;
  const done = waitForSnapshot(deps, notificationTopic(deps.config.TOPIC_PREFIX, connector), id, timeoutMs);
  const data = JSON.stringify({ "data-collections": [tableName(ref)], type: "incremental" });
  await deps.pool.query(
    `INSERT INTO ${quoteMy(SIGNAL_TABLE.schema)}.${quoteMy(SIGNAL_TABLE.table)} (id, type, data) VALUES (?, 'execute-snapshot', ?)`,
    [id, data],
  );
  deps.io.out(`re-reading ${tableName(ref)} in place (incremental snapshot ${id}); the other tables keep streaming`);
  await done;
  const topic = `${deps.config.TOPIC_PREFIX}.${tableName(ref)}`;
  const offsets = (await deps.admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high }));
  const answer = await sendControl(
    deps.kafka,
    deps.config.TOPIC_PREFIX,
    { op: "finish-resnapshot", target, lsn: begin.toString(), topic, offsets },
    { timeoutMs },
  );
  if (!answer.ok) throw new AttachError(`the running sidecar could not finish the re-snapshot: ${answer.detail}`);
  deps.io.out(answer.detail);
}
