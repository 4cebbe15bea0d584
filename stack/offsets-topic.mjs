// Kafka Connect's offsets topic, created before Connect starts so that it stays small.
//
// Connect commits every 50 ms (offset.flush.interval.ms), and the projector reads the whole
// topic when it starts (src/projector/connect-offsets.ts). With the broker's 1 GiB segments
// compaction never runs on it until a segment is full: a stack that ran a day made every
// projector start read hundreds of MB. 1 MiB segments let the log cleaner keep one record per
// connector. Connect accepts an existing topic that is compacted; an existing one is tuned.
// Usage: node stack/offsets-topic.mjs <brokers> <topic>
import { Kafka, logLevel } from "kafkajs";

const [brokers, topic] = process.argv.slice(2);
const configEntries = [
  { name: "cleanup.policy", value: "compact" },
  { name: "segment.bytes", value: String(1 << 20) },
  { name: "min.cleanable.dirty.ratio", value: "0.1" },
];
const admin = new Kafka({ brokers: brokers.split(","), clientId: "stack-offsets-topic", logLevel: logLevel.NOTHING }).admin();
await admin.connect();
try {
  if ((await admin.listTopics()).includes(topic))
    // alterConfigs replaces the topic's settings: cleanup.policy=compact is among the entries.
    await admin.alterConfigs({ resources: [{ type: 2, name: topic, configEntries }] });
  else await admin.createTopics({ topics: [{ topic, numPartitions: 25, replicationFactor: 1, configEntries }] });
} finally {
  await admin.disconnect();
}
