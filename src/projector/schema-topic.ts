import type { Admin, Consumer, Kafka } from "kafkajs";
import type { Logger } from "../shared/logger.js";

/** Headers the sidecar's Connect converter (stack/converter) puts on each message. */
export const VALUE_SCHEMA_HEADER = "sidecar.schema";
export const KEY_SCHEMA_HEADER = "sidecar.key.schema";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The schemas of messages written without their schema (stack/converter's SchemaIdJsonConverter):
 * the compacted schema topic read from its start and followed, id → schema JSON text. The
 * converter stores a schema before the first message naming it is produced, so an id missing here
 * is found by reading the topic up to its current end; one still missing then is an error of that
 * message (it goes to the dead-letter topic).
 */
export class SchemaTopic {
  private readonly texts = new Map<string, string>();
  private consumer: Consumer | undefined;
  /** Next offset to read (one partition). */
  private next = 0n;

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: () => Admin,
    private readonly opts: { topic: string; groupId: string },
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // Created here as the converter creates it: compacted (an auto-created topic would expire schemas).
    if (!(await this.admin().listTopics()).includes(this.opts.topic))
      await this.admin()
        .createTopics({
          topics: [
            { topic: this.opts.topic, numPartitions: 1, configEntries: [{ name: "cleanup.policy", value: "compact" }] },
          ],
        })
        .catch(() => undefined);
    const consumer = this.kafka.consumer({
      groupId: this.opts.groupId,
      maxWaitTimeInMs: 50,
      allowAutoTopicCreation: false,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.opts.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (message.key && message.value) this.texts.set(message.key.toString("utf8"), message.value.toString("utf8"));
        this.next = BigInt(message.offset) + 1n;
      },
    });
    this.consumer = consumer;
    this.log.info({ topic: this.opts.topic }, "following the schema topic");
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.admin()
      .deleteGroups([this.opts.groupId])
      .catch(() => undefined);
  }

  /** The texts of these ids; reads up to the topic's end for any not known yet (at most `waitMs`). */
  async lookup(ids: Iterable<string>, waitMs = 30_000): Promise<Map<string, string>> {
    const wanted = [...new Set(ids)];
    const missing = () => wanted.filter((id) => !this.texts.has(id));
    if (missing().length > 0) {
      const end = await this.end();
      const deadline = Date.now() + waitMs;
      while (this.next < end && Date.now() < deadline) await sleep(20);
      if (missing().length > 0)
        this.log.error({ ids: missing(), topic: this.opts.topic }, "schema ids not in the schema topic");
    }
    const out = new Map<string, string>();
    for (const id of wanted) {
      const text = this.texts.get(id);
      if (text !== undefined) out.set(id, text);
    }
    return out;
  }

  private async end(): Promise<bigint> {
    const offsets = await this.admin()
      .fetchTopicOffsets(this.opts.topic)
      .catch(() => []);
    return offsets.reduce((max, p) => (BigInt(p.high) > max ? BigInt(p.high) : max), 0n);
  }
}
