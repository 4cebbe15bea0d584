import { randomUUID } from "node:crypto";
import type { Kafka } from "kafkajs";
import { z } from "zod";

/**
 * The control topic: commands for the running projector from another process (the CLI), and the
 * projector's answers. It exists because an embedded ClickHouse belongs to the sidecar's process:
 * `repair` and `detach --drop-data` cannot open it, so they ask the process that holds it.
 * Every command is idempotent and resent until answered, so a projector that joins late or
 * restarts in between still carries it out.
 */
export const controlTopic = (topicPrefix: string): string => `${topicPrefix}.__control`;

export const controlCommand = z.discriminatedUnion("op", [
  /** Clears a projected table's degraded mark (after verify found it identical to the source). */
  z.object({ op: z.literal("clear-degraded"), target: z.string() }),
  /**
   * The re-snapshot of a table finished: once the rows up to `offsets` of its topic are stored,
   * rows not re-read and not changed since `lsn` (the position before the re-snapshot began)
   * are gone from the source and are deleted (version-aware, like a truncate at `lsn`).
   */
  z.object({
    op: z.literal("finish-resnapshot"),
    target: z.string(),
    lsn: z.string().regex(/^\d+$/),
    topic: z.string(),
    offsets: z.array(z.object({ partition: z.number().int(), offset: z.string().regex(/^\d+$/) })),
  }),
  /** detach deleted these topics: stop consuming them now (an attach may recreate them at once). */
  z.object({ op: z.literal("topics-deleted"), topics: z.array(z.string()) }),
  /** Drops projected tables (detach --drop-data while the sidecar runs). */
  z.object({ op: z.literal("drop-tables"), targets: z.array(z.string()) }),
  /**
   * Copies tables inside an exported snapshot into the projection (attach, src/snapshot/copy.ts).
   * Postgres is reached with the connector's own database.* settings, read from Kafka Connect,
   * so no credentials travel on Kafka. Answers with the CopyResult as JSON; progress meanwhile.
   */
  z.object({
    op: z.literal("snapshot"),
    connector: z.string(),
    snapshot: z.string().regex(/^[0-9A-F-]+$/),
    version: z.string().regex(/^\d+$/),
    lsn: z.string().regex(/^\d+$/),
    commitTs: z.string().regex(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/),
    tables: z.array(z.object({ schema: z.string(), table: z.string() })),
  }),
  /**
   * Copies MySQL/MariaDB tables inside a consistent snapshot the sidecar opens itself (attach,
   * src/mysql/copy.ts), with the connector's database.* settings; the same answer and progress.
   */
  z.object({
    op: z.literal("mysql-snapshot"),
    connector: z.string(),
    tables: z.array(z.object({ schema: z.string(), table: z.string() })),
  }),
]);
export type ControlCommand = z.infer<typeof controlCommand>;

export const controlMessage = z.union([
  z.object({ id: z.string(), command: controlCommand }),
  z.object({ id: z.string(), answer: z.object({ ok: z.boolean(), detail: z.string() }) }),
  /** A long command's progress (snapshot: rows copied per table so far). */
  z.object({ id: z.string(), progress: z.record(z.string(), z.number()) }),
]);
export type ControlMessage = z.infer<typeof controlMessage>;

/**
 * Sends a command and waits for the projector's answer, resending it every `resendMs` until one
 * comes or `timeoutMs` passes (then throws, saying the projector did not answer).
 */
export async function sendControl(
  kafka: Kafka,
  topicPrefix: string,
  command: ControlCommand,
  opts: {
    timeoutMs?: number;
    resendMs?: number;
    /** Called with each progress message of this command. */
    onProgress?: (rows: Record<string, number>) => void;
    /** Once progress has been seen: no overall timeout, but fail when none comes for this long (the sidecar stopped). */
    silentMs?: number;
  } = {},
): Promise<{ ok: boolean; detail: string }> {
  const topic = controlTopic(topicPrefix);
  const id = randomUUID();
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  const consumer = kafka.consumer({ groupId: `sidecar-control-${id}` });
  await producer.connect();
  await consumer.connect();
  let heardAt = 0;
  try {
    const answer = new Promise<{ ok: boolean; detail: string }>((resolve) => {
      void consumer.subscribe({ topics: [topic], fromBeginning: true }).then(() =>
        consumer.run({
          eachMessage: async ({ message }) => {
            const m = parseControl(message.value);
            if (!m || m.id !== id) return;
            if ("answer" in m) resolve(m.answer);
            else if ("progress" in m) {
              heardAt = Date.now();
              opts.onProgress?.(m.progress);
            }
          },
        }),
      );
    });
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    for (;;) {
      // A command in progress is not resent (the listener also ignores an id it is running).
      if (heardAt === 0) await producer.send({ topic, messages: [{ value: JSON.stringify({ id, command }) }] });
      else if (opts.silentMs && Date.now() - heardAt > opts.silentMs)
        throw new Error(
          `the running sidecar stopped reporting progress on "${command.op}" for ${opts.silentMs / 1000} s: is it still running (make status)?`,
        );
      const tick = new Promise<undefined>((r) => setTimeout(() => r(undefined), opts.resendMs ?? 3_000));
      const got = await Promise.race([answer, tick]);
      if (got) return got;
      // A long command that reports progress is bounded by silentMs instead, once it has been heard.
      if (Date.now() > deadline && !(opts.silentMs && heardAt > 0))
        throw new Error(
          `the running sidecar did not answer "${command.op}" on ${topic} within ${Math.round((opts.timeoutMs ?? 120_000) / 1000)} s: is the project role running (make status)?`,
        );
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([`sidecar-control-${id}`]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
  }
}

export function parseControl(value: Buffer | null): ControlMessage | undefined {
  if (!value) return undefined;
  try {
    const r = controlMessage.safeParse(JSON.parse(value.toString("utf8")));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
