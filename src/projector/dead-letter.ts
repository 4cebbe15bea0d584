import type { KafkaMessage, Producer } from "kafkajs";
import type { Logger } from "../shared/logger.js";
import type { PoisonKind } from "./batch-decode.js";
import type { Retrier } from "./retry.js";

/** A message set aside, with why. */
export interface Poison {
  message: KafkaMessage;
  kind: PoisonKind;
  reason: string;
}

/** One produce request per ~512 KB: a whole batch of poison in one request can pass the broker's max message size. */
const CHUNK_BYTES = 512 * 1024;

/**
 * The dead-letter topic: messages the projector cannot apply, each with its reason and origin in
 * headers (dlq.reason, dlq.kind, dlq.topic, dlq.partition, dlq.offset, dlq.at). Logged once per
 * message. Sending is retried without end: a batch is committed only after its poison is stored.
 */
export class DeadLetters {
  private readonly logged = new Set<string>();

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly retrier: Retrier,
    private readonly log: Logger,
    private readonly count: (kind: string) => void,
  ) {}

  async send(
    source: { topic: string; partition: number },
    poison: Poison[],
    alive: () => boolean,
    beat: () => Promise<void>,
  ): Promise<void> {
    if (poison.length === 0) return;
    for (const chunk of chunks(poison))
      await this.retrier.run(
        "dlq",
        () =>
          this.producer.send({
            topic: this.topic,
            acks: -1,
            messages: chunk.map((p) => ({
              key: p.message.key,
              value: p.message.value,
              headers: {
                ...(p.message.headers ?? {}),
                "dlq.reason": p.reason,
                "dlq.kind": p.kind,
                "dlq.topic": source.topic,
                "dlq.partition": String(source.partition),
                "dlq.offset": p.message.offset,
                "dlq.at": new Date().toISOString(),
              },
            })),
          }),
        { alive, beat, deterministicAttempts: Number.POSITIVE_INFINITY },
      );
    for (const p of poison) {
      this.count(p.kind);
      const id = `${source.topic}:${source.partition}:${p.message.offset}`;
      if (this.logged.has(id)) continue;
      if (this.logged.size > 100_000) this.logged.clear();
      this.logged.add(id);
      this.log.error(
        { ...source, offset: p.message.offset, kind: p.kind, reason: p.reason, dlq: this.topic },
        "message sent to the dead-letter topic",
      );
    }
  }
}

function chunks(poison: Poison[]): Poison[][] {
  const out: Poison[][] = [[]];
  let bytes = 0;
  for (const p of poison) {
    const size = (p.message.value?.length ?? 0) + (p.message.key?.length ?? 0) + 1024;
    const last = out[out.length - 1] as Poison[];
    if (bytes + size > CHUNK_BYTES && last.length > 0) {
      out.push([p]);
      bytes = size;
    } else {
      last.push(p);
      bytes += size;
    }
  }
  return out;
}
