import { test } from "vitest";
import { createKafka } from "../../src/shared/kafka.js";
import { createCapture, waitForTopics } from "../helpers/capture.js";
import { stackEnv } from "../helpers/stack.js";

test("explore", async () => {
  const env = stackEnv();
  const cap = await createCapture(env, "explore");
  try {
    await cap.pool.query(`CREATE TYPE ${cap.schema}.mood AS ENUM ('sad','ok','happy')`);
    await cap.pool.query(`CREATE TABLE ${cap.schema}.all_types (
      id bigint PRIMARY KEY, s smallint, i int, n12 numeric(12,2), n numeric, r real, d double precision, b boolean,
      t text, vc varchar(20), c char(3), u uuid, dt date, tm time, tm3 time(3), ts timestamp, ts3 timestamp(3), tstz timestamptz, iv interval,
      j json, jb jsonb, by bytea, ai int[], at text[], e ${cap.schema}.mood, m money, tz timetz)`);
    await cap.pool.query(`INSERT INTO ${cap.schema}.all_types VALUES (1, 1, 2, 1234.50, 123456789012345678901234567890.123456789, 1.5, 2.25, true,
     'x', 'vc', 'ab', gen_random_uuid(), '2024-02-29', '12:34:56.789012', '01:02:03.4', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123', '2024-01-02 03:04:05.120000+02', '1 year 2 mons 3 days 04:05:06.789',
     '{"a": 1}', '{"b": [1,2]}', '\\x00ff10', '{1,NULL,3}', '{"a","b c"}', 'ok', 12.34, '10:00:00+02')`);
    await cap.start(["all_types"], { "column.propagate.source.type": ".*" });
    await cap.pool.query(`UPDATE ${cap.schema}.all_types SET i = 3`);
    await cap.pool.query(`TRUNCATE ${cap.schema}.all_types`);
    await waitForTopics(env.KAFKA_BROKERS.split(","), [cap.topic("all_types")]);
    const kafka = createKafka(env.KAFKA_BROKERS.split(","), "explore");
    const consumer = kafka.consumer({ groupId: `explore-${cap.id}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [cap.topic("all_types")], fromBeginning: true });
    let n = 0;
    await new Promise<void>((resolve) => {
      consumer.run({ eachMessage: async ({ message }) => {
        console.log("KEY", message.key?.toString());
        console.log("VAL", message.value?.toString());
        if (++n >= 3) resolve();
      } });
    });
    await consumer.disconnect();
  } finally {
    await cap.drop();
  }
});
