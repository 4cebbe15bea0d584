import { randomUUID } from "node:crypto";
import type { Admin, Kafka } from "kafkajs";
import { targetTableName } from "../cdc/table.js";
import { ConnectClient, signalTableOf } from "../connect/connect-client.js";
import type { Config } from "../shared/config.js";
import { sendControl } from "../shared/control.js";
import type { PgPool } from "../shared/postgres.js";
import { AttachError, requestIncrementalSnapshot } from "./attach.js";
import { notificationTopic } from "./connector.js";
import { publicationTables } from "./source-setup.js";
import { attachNames, type TableRef, tableName } from "./tables.js";
import { formatVerifyReport, type ProjectionReader, type VerifyReport, verifyAttachment } from "./verify.js";

export interface RepairDeps {
  pool: PgPool;
  kafka: Kafka;
  admin: Admin;
  config: Config;
  reader: ProjectionReader;
  out: (line: string) => void;
}

/**
 * repair: brings one projected table back to the source and clears its degraded mark.
 * 1. verify the table; identical → only the mark is cleared (a schema change that needed nothing).
 * 2. otherwise re-read it in place: an incremental snapshot (Debezium, the other tables keep
 *    streaming; each row re-read is versioned after the snapshot began, so it never wins over a
 *    newer change), then the rows that were neither re-read nor changed since it began are gone at
 *    the source and are deleted (version-aware, as a truncate at that position), by the running
 *    projector; 3. verify again, and clear the mark only when identical.
 */
export async function repairTable(deps: RepairDeps, name: string, ref: TableRef, timeoutMs = 30 * 60_000) {
  const names = attachNames(name);
  const attached = await publicationTables(deps.pool, names.publication);
  if (!attached.some((t) => tableName(t) === tableName(ref)))
    throw new AttachError(
      `${tableName(ref)} is not attached under ${name} (attached: ${attached.map(tableName).join(", ") || "none"})`,
    );
  const target = targetTableName(ref.schema, ref.table);
  await repairSteps(deps, ref, {
    verify: () => verifyAttachment(deps.pool, deps.reader, name, { tables: [ref], examples: 3 }),
    resnapshot: () => resnapshot(deps, name, ref, target, timeoutMs),
  });
}

/**
 * The steps every source's repair shares: verify; if different, re-read and verify again; then
 * ask the running sidecar to clear the table's mark (never when it still differs).
 */
export async function repairSteps(
  deps: { kafka: Kafka; config: Pick<Config, "TOPIC_PREFIX">; out: (line: string) => void },
  ref: TableRef,
  steps: { verify: () => Promise<VerifyReport>; resnapshot: () => Promise<void> },
): Promise<void> {
  const check = async () => {
    const report = await steps.verify();
    deps.out(formatVerifyReport(report));
    return report.ok;
  };
  if (!(await check())) {
    await steps.resnapshot();
    if (!(await check()))
      throw new AttachError(`${tableName(ref)} still differs after the re-snapshot; its mark stays`);
  }
  const target = targetTableName(ref.schema, ref.table);
  const answer = await sendControl(deps.kafka, deps.config.TOPIC_PREFIX, { op: "clear-degraded", target });
  if (!answer.ok) throw new AttachError(`the running sidecar could not clear the mark: ${answer.detail}`);
  deps.out(`${tableName(ref)} repaired: ${answer.detail}`);
}

async function resnapshot(deps: RepairDeps, name: string, ref: TableRef, target: string, timeoutMs: number) {
  const { rows } = await deps.pool.query<{ lsn: string }>("SELECT (pg_current_wal_lsn() - '0/0')::text AS lsn");
  // The table the connector reads: its own, or the shared one of an attachment made before.
  const names = attachNames(name);
  const connect = new ConnectClient(deps.config.KAFKA_CONNECT_URL);
  const signalTable = await signalTableOf(connect, names.connector, names.signal);
  await rereadInPlace({ ...deps, log: deps.out }, ref, target, {
    begin: rows[0]?.lsn as string,
    notifications: notificationTopic(deps.config.TOPIC_PREFIX, names.slot),
    signal: async (id) => {
      await requestIncrementalSnapshot(deps.pool, signalTable, [ref], id);
    },
    timeoutMs,
  });
}

/**
 * The re-read every source's repair shares: an incremental snapshot signalled with a new id,
 * awaited on the connector's notification topic, then the running sidecar deletes what was
 * neither re-read nor changed since `begin` (the source position read before the signal).
 */
export async function rereadInPlace(
  deps: Pick<RepairDeps, "kafka" | "admin"> & { config: Pick<Config, "TOPIC_PREFIX">; log: (line: string) => void },
  ref: TableRef,
  target: string,
  r: { begin: string; notifications: string; signal: (id: string) => Promise<void>; timeoutMs: number },
): Promise<void> {
  const id = `repair-${randomUUID()}`;
  const done = waitForSnapshot(deps, r.notifications, id, r.timeoutMs);
  await r.signal(id);
  deps.log(`re-reading ${tableName(ref)} in place (incremental snapshot ${id}); the other tables keep streaming`);
  await done;
  const topic = `${deps.config.TOPIC_PREFIX}.${tableName(ref)}`;
  const offsets = (await deps.admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high }));
  const answer = await sendControl(
    deps.kafka,
    deps.config.TOPIC_PREFIX,
    { op: "finish-resnapshot", target, lsn: r.begin, topic, offsets },
    { timeoutMs: r.timeoutMs },
  );
  if (!answer.ok) throw new AttachError(`the running sidecar could not finish the re-snapshot: ${answer.detail}`);
  deps.log(answer.detail);
}

/** Resolves when Debezium notifies that the incremental snapshot with this id completed. */
export async function waitForSnapshot(
  deps: Pick<RepairDeps, "kafka" | "admin">,
  topic: string,
  id: string,
  timeoutMs: number,
): Promise<void> {
  const groupId = `sidecar-repair-${randomUUID()}`;
  const consumer = deps.kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new AttachError(`the re-snapshot did not complete within ${timeoutMs / 1000} s (see make logs)`)),
        timeoutMs,
      );
      consumer
        .subscribe({ topics: [topic], fromBeginning: true })
        .then(() =>
          consumer.run({
            eachMessage: async ({ message }) => {
              const n = parseNotification(message.value);
              if (n?.id !== id) return;
              if (n.type === "COMPLETED") {
                clearTimeout(timer);
                resolve();
              } else if (n.type === "ABORTED") {
                clearTimeout(timer);
                reject(new AttachError(`Debezium aborted the re-snapshot: ${JSON.stringify(n.additional_data ?? {})}`));
              }
            },
          }),
        )
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await deps.admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

interface Notification {
  id?: string;
  aggregate_type?: string;
  type?: string;
  additional_data?: Record<string, string>;
}

function parseNotification(value: Buffer | null): Notification | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value.toString("utf8")) as { payload?: Notification } & Notification;
    return v.payload ?? v;
  } catch {
    return undefined;
  }
}
