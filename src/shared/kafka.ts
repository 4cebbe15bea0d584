import { Kafka, logLevel } from "kafkajs";
import type { Logger } from "./logger.js";

/** The one kafkajs factory: its log lines go through our logger. */
export function createKafka(brokers: string[], clientId: string, log?: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 5_000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        if (!log) return;
        const { message, ...extra } = entry;
        if (level <= logLevel.ERROR) log.error(extra, `kafka: ${message}`);
        else log.warn(extra, `kafka: ${message}`);
      },
  });
}

/** Produces and reads back nothing: proves the broker accepts a write. */
export async function pingKafka(brokers: string[]): Promise<void> {
  const producer = createKafka(brokers, "cqrs-sidecar-ping").producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    await producer.send({ topic: "_sidecar_ping", messages: [{ value: String(Date.now()) }] });
  } finally {
    await producer.disconnect();
  }
}
