/**
 * Bytes on Kafka per message, by format: messages with an inline schema (JsonConverter with
 * schemas) against messages whose schema is named by id (stack/converter), over every message
 * of the given topics (value + key + headers).
 *
 *   node --import tsx bench/topic-bytes.ts [topic …]     (default: the demo's four topics)
 */
import { loadConfig } from "../src/shared/config.js";
import { createKafka } from "../src/shared/kafka.js";

const config = loadConfig(process.env);
const topics = process.argv.slice(2);
if (topics.length === 0)
  for (const t of ["orders", "customers", "order_lines", "products"]) topics.push(`${config.TOPIC_PREFIX}.shop.${t}`);
const kafka = createKafka(config.KAFKA_BROKERS, "bench-topic-bytes");
const admin = kafka.admin();
await admin.connect();
for (const topic of topics) {
  const end = (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  const groupId = `bench-bytes-${Date.now()}`;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const acc = { inline: { n: 0, bytes: 0 }, named: { n: 0, bytes: 0 } };
  let seen = 0;
  await new Promise<void>((resolve) => {
    if (end === 0) resolve();
    void consumer.run({
      eachMessage: async ({ message: m }) => {
        if (m.value) {
          let bytes = m.value.length + (m.key?.length ?? 0);
          for (const [k, v] of Object.entries(m.headers ?? {})) bytes += k.length + String(v ?? "").length;
          const a = m.headers?.["sidecar.schema"] !== undefined ? acc.named : acc.inline;
          a.n++;
          a.bytes += bytes;
        }
        if (++seen >= end) resolve();
      },
    });
  });
  await consumer.disconnect();
  await admin.deleteGroups([groupId]).catch(() => undefined);
  const avg = (a: { n: number; bytes: number }) => (a.n ? Math.round(a.bytes / a.n) : 0);
  const ratio = avg(acc.named) && avg(acc.inline) ? (avg(acc.inline) / avg(acc.named)).toFixed(1) : "—";
  console.log(
    `${topic}: inline schema ${acc.inline.n} messages, ${avg(acc.inline)} bytes each; schema by id ${acc.named.n} messages, ${avg(acc.named)} bytes each; 1 / ${ratio}`,
  );
}
await admin.disconnect();
