import type { KafkaMessage } from "kafkajs";
import { createKafka } from "../../src/shared/kafka.js";

export interface DebeziumEvent {
  op: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: Record<string, unknown> & { lsn?: number; snapshot?: string };
  /** named: the schema is in the schema topic, its id in a header; inline: {schema, payload}. */
  format?: "named" | "inline";
}

/** Reads a topic from the beginning with a fresh group until `done(events)` is true or the timeout passes. */
export async function collectEvents(
  brokers: string[],
  topic: string,
  done: (events: DebeziumEvent[]) => boolean,
  timeoutMs = 60_000,
): Promise<DebeziumEvent[]> {
  const kafka = createKafka(brokers, "test-reader");
  const consumer = kafka.consumer({ groupId: `test-${topic}-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 200 });
  const events: DebeziumEvent[] = [];
  await consumer.connect();
  try {
    await waitForTopic(brokers, topic, timeoutMs);
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms reading ${topic}; got ${events.length} events`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ message }: { message: KafkaMessage }) => {
            if (!message.value) return; // tombstone
            // The envelope alone, its schema named by the sidecar.schema header (stack/converter);
            // messages written before that converter carry {schema, payload}.
            const value = JSON.parse(message.value.toString()) as DebeziumEvent & { payload?: DebeziumEvent };
            const named = message.headers?.["sidecar.schema"] !== undefined && value.payload === undefined;
            events.push({ ...(named ? value : (value.payload as DebeziumEvent)), format: named ? "named" : "inline" });
            if (done(events)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return events;
}

export async function waitForTopic(brokers: string[], topic: string, timeoutMs = 60_000): Promise<void> {
  const admin = createKafka(brokers, "test-admin").admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (!(await admin.listTopics()).includes(topic)) {
      if (Date.now() > deadline) throw new Error(`topic ${topic} did not appear within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}
