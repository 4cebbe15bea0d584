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
  /** Drops projected tables (detach --drop-data while the sidecar runs). */
  z.object({ op: z.literal("drop-tables"), targets: z.array(z.string()) }),
]);
export type ControlCommand = z.infer<typeof controlCommand>;

export const controlMessage = z.union([
  z.object({ id: z.string(), command: controlCommand }),
  z.object({ id: z.string(), answer: z.object({ ok: z.boolean(), detail: z.string() }) }),
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
  opts: { timeoutMs?: number; resendMs?: number } = {},
): Promise<{ ok: boolean; detail: string }> {
  const topic = controlTopic(topicPrefix);
  const id = randomUUID();
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  const consumer = kafka.consumer({ groupId: `sidecar-control-${id}` });
  await producer.connect();
  await consumer.connect();
  try {
    const answer = new Promise<{ ok: boolean; detail: string }>((resolve) => {
      void consumer.subscribe({ topics: [topic], fromBeginning: true }).then(() =>
        consumer.run({
          eachMessage: async ({ message }) => {
            const m = parseControl(message.value);
            if (m && m.id === id && "answer" in m) resolve(m.answer);
          },
        }),
      );
    });
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    for (;;) {
      await producer.send({ topic, messages: [{ value: JSON.stringify({ id, command }) }] });
      const tick = new Promise<undefined>((r) => setTimeout(() => r(undefined), opts.resendMs ?? 3_000));
      const got = await Promise.race([answer, tick]);
      if (got) return got;
      if (Date.now() > deadline)
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
