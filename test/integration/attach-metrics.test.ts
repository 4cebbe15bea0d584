import { existsSync, readFileSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attach, detach } from "../../src/attach/attach.js";
import { type AttachmentFixture, createAttachmentFixture } from "../helpers/attachment.js";

/** Connect's log on the native stack (absent with testcontainers: the timing check still holds). */
const CONNECT_LOG = ".stack/logs/connect.log";

/**
 * Debezium registers its JMX metrics under `server=<topic.prefix>`: every connector with the
 * demo's prefix collided, each new connector waited 2 × 60 s for the name and then ran without
 * metrics ("Unable to register metrics … exists"). `custom.metric.tags=connector=<name>` gives each
 * its own name. Two attachments with the demo connector's prefix (`sidecar`), attached one after
 * the other while the demo connector runs: each is streaming within seconds, and Connect logs no
 * collision.
 */
describe("attach: each connector its own Debezium metrics", () => {
  let fx: AttachmentFixture;
  const names: string[] = [];
  const schemas: string[] = [];

  beforeAll(async () => {
    fx = await createAttachmentFixture("mt", (id) => [`mta_${id}`, `mtb_${id}`], { TOPIC_PREFIX: "sidecar" });
    names.push(fx.name, `${fx.name}_b`);
    for (const s of [`mta_${fx.id}`, `mtb_${fx.id}`]) {
      await fx.pool.query(`CREATE SCHEMA ${s};
        CREATE TABLE ${s}.five (id int PRIMARY KEY, v text);
        INSERT INTO ${s}.five SELECT g, 'v' || g FROM generate_series(1, 5) g;`);
      schemas.push(s);
    }
  }, 120_000);

  afterAll(async () => {
    const io = { out: () => undefined };
    const kafka = {
      admin: fx.admin,
      brokers: fx.config.KAFKA_BROKERS,
      topicPrefix: "sidecar",
      group: fx.config.PROJECTOR_GROUP,
    };
    await detach({ pool: fx.pool, connect: fx.connect(), io, kafka }, names[1]!).catch(() => undefined);
    await detach({ pool: fx.pool, connect: fx.connect(), io, kafka }, names[0]!).catch(() => undefined);
    await fx?.close();
  }, 180_000);

  it("two attachments beside the demo connector, same topic prefix: no metrics collision", async () => {
    const logFrom = existsSync(CONNECT_LOG) ? statSync(CONNECT_LOG).size : 0;
    for (const [i, name] of names.entries()) {
      const started = Date.now();
      await attach(fx.deps(), { name, tables: [{ schema: schemas[i]!, table: "five" }] });
      const seconds = (Date.now() - started) / 1000;
      // A collision costs 60 s per metrics context before the task goes on.
      expect(seconds, fx.lines.join("\n")).toBeLessThan(45);
      await fx.pool.query(`UPDATE ${schemas[i]}.five SET v = 'changed' WHERE id = 1`);
    }
    // Both stream: each task got past metrics registration.
    for (const s of schemas) {
      await fx.waitFor(
        `the change of ${s} on Kafka`,
        async () => {
          const offs = await fx.admin.fetchTopicOffsets(`sidecar.${s}.five`).catch(() => []);
          return offs.some((o) => Number(o.high) > 0);
        },
        60_000,
      );
    }
    if (existsSync(CONNECT_LOG)) {
      const added = readFileSync(CONNECT_LOG).subarray(logFrom).toString("utf8");
      const collisions = added
        .split("\n")
        .filter((l) => /Unable to register metrics|Failed to register metrics/.test(l));
      expect(collisions, collisions.join("\n")).toEqual([]);
    }
  }, 300_000);
});
