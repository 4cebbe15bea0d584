import type { Kafka, KafkaMessage } from "kafkajs";
import { type DecodedEvent, decodeChangeEvent, SchemaCache, SchemasById } from "../../src/cdc/decode.js";
import { KEY_SCHEMA_HEADER, VALUE_SCHEMA_HEADER } from "../../src/projector/schema-topic.js";

/** Every schema in the schema topic (stack/converter), read to its end: id → JSON text. */
export async function readSchemaTopic(kafka: Kafka, topic = "_sidecar_schemas"): Promise<Map<string, string>> {
  const admin = kafka.admin();
  await admin.connect();
  const end = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  const groupId = `test-schemas-${Date.now()}-${Math.random()}`;
  const texts = new Map<string, string>();
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve) => {
    if (end === 0) resolve();
    void consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key && message.value) texts.set(message.key.toString(), message.value.toString());
        if (++seen >= end) resolve();
      },
    });
  });
  await consumer.disconnect();
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
  return texts;
}

/** Decodes one message as the projector does, its schemas named by header or inline. */
export function decodeMessage(message: KafkaMessage, texts: Map<string, string>): DecodedEvent {
  const byId = new SchemasById();
  const named = (header: string) => {
    const id = message.headers?.[header]?.toString();
    return id ? byId.get(id, texts.get(id)) : undefined;
  };
  return decodeChangeEvent(message.value as Buffer, message.key ?? null, new SchemaCache(), {
    value: named(VALUE_SCHEMA_HEADER),
    key: named(KEY_SCHEMA_HEADER),
  });
}

/**
 * One change on each table (its first column set to itself on one row): attach copies the
 * snapshot itself, so a table's topic has no event until the table changes.
 */
export async function touchOneRow(
  pool: { query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }> },
  tables: { schema: string; table: string }[],
): Promise<void> {
  for (const t of tables) {
    const rel = `"${t.schema}"."${t.table}"`;
    const { rows } = await pool.query(
      `SELECT quote_ident(attname) AS col FROM pg_attribute WHERE attrelid = '${rel}'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum LIMIT 1`,
    );
    const col = rows[0]?.col as string;
    await pool.query(`UPDATE ${rel} SET ${col} = ${col} WHERE ctid = (SELECT ctid FROM ${rel} LIMIT 1)`);
  }
}
