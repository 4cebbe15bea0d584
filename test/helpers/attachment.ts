import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Admin, Kafka } from "kafkajs";
import { type AttachDeps, detach, followAttachment } from "../../src/attach/attach.js";
import { attachNames } from "../../src/attach/tables.js";
import { formatVerifyReport, type VerifyReport, verifyAttachment } from "../../src/attach/verify.js";
import { type ClickHouse, openClickHouse } from "../../src/clickhouse/client.js";
import { ConnectClient } from "../../src/connect/connect-client.js";
import { type Projector, startProjector } from "../../src/projector/projector.js";
import type { Config } from "../../src/shared/config.js";
import { createKafka } from "../../src/shared/kafka.js";
import { createLogger } from "../../src/shared/logger.js";
import { createPgPool, type PgPool } from "../../src/shared/postgres.js";
import { registerTestResources, unregisterTestResources } from "./leftovers.js";
import { fixtureConfig, stackEnv } from "./stack.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One attachment on the shared stack for a test file: its own name, topic prefix, consumer
 * group, DLQ topic and chDB directory, the real projector in this process. `close()` detaches
 * and removes what it created (schemas listed in `schemas`).
 */
export interface AttachmentFixture {
  id: string;
  name: string;
  config: Config;
  pool: PgPool;
  kafka: Kafka;
  admin: Admin;
  ch: ClickHouse;
  lines: string[];
  deps(): AttachDeps;
  connect(): ConnectClient;
  projector(): Projector | undefined;
  startProjector(): Promise<Projector>;
  /**
   * After attach --no-wait: the projector (once the attachment's heartbeat topic exists), then
   * until any table left to Debezium's incremental snapshot is projected.
   */
  project(): Promise<Projector>;
  stopProjector(): Promise<void>;
  topic(schema: string, table: string): string;
  waitFor(what: string, fn: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  /** verify over the attachment (or some tables), read straight from this process's chDB. */
  verify(tables?: { schema: string; table: string }[]): Promise<VerifyReport & { text: string }>;
  close(): Promise<void>;
}

export async function createAttachmentFixture(
  label: string,
  /** The Postgres schemas the test creates for this id (registered as leftovers, dropped by close()). */
  schemasOf: (id: string) => string[],
  env: Record<string, string> = {},
  opts: { id?: string } = {},
): Promise<AttachmentFixture> {
  const id = opts.id ?? `${label}${randomBytes(3).toString("hex")}`;
  const name = `${label}_${id}`;
  const names = attachNames(name);
  const schemas = schemasOf(id);
  const chdbDir = mkdtempSync(join(tmpdir(), `${label}-chdb-`));
  const stack = stackEnv();
  const config = fixtureConfig({ prefix: "at", group: "attach-test", id, chdbDir, env });
  const pool = createPgPool(config.DATABASE_URL, { max: 6, applicationName: `test-${name}` });
  const kafka = createKafka(config.KAFKA_BROKERS, `test-${name}`);
  const admin = kafka.admin();
  await admin.connect();
  const ch = await openClickHouse(config.CLICKHOUSE_URL);
  await registerTestResources(stack, {
    connector: names.connector,
    slot: names.slot,
    publication: names.publication,
    schemas,
  });
  const lines: string[] = [];
  let projector: Projector | undefined;
  const connect = () => new ConnectClient(stack.KAFKA_CONNECT_URL);
  const fixture: AttachmentFixture = {
    id,
    name,
    config,
    pool,
    kafka,
    admin,
    ch,
    lines,
    connect,
    deps: () => ({
      pool,
      admin,
      connect: connect(),
      config,
      io: { out: (l: string) => lines.push(l) },
      clickhouse: ch,
    }),
    projector: () => projector,
    async startProjector() {
      projector = await startProjector(config, { clickhouse: ch, log: createLogger(config.LOG_LEVEL) });
      return projector;
    },
    async project() {
      await fixture.waitFor("the attachment's heartbeat topic", async () =>
        (await admin.listTopics()).includes(fixture.topic("sidecar", "heartbeat")),
      );
      const p = await fixture.startProjector();
      await followAttachment(fixture.deps(), name, 240_000);
      return p;
    },
    async stopProjector() {
      await projector?.stop();
      projector = undefined;
    },
    topic: (schema, table) => `${config.TOPIC_PREFIX}.${schema}.${table}`,
    async waitFor(what, fn, timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await fn())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(500);
      }
    },
    async verify(tables) {
      const report = await verifyAttachment(
        pool,
        { kind: "clickhouse", client: ch, database: config.CLICKHOUSE_DATABASE },
        name,
        tables ? { tables } : {},
      );
      return { ...report, text: formatVerifyReport(report) };
    },
    async close() {
      await projector?.stop().catch(() => undefined);
      await detach(
        {
          pool,
          connect: connect(),
          io: { out: () => undefined },
          kafka: {
            admin,
            brokers: config.KAFKA_BROKERS,
            topicPrefix: config.TOPIC_PREFIX,
            group: config.PROJECTOR_GROUP,
          },
        },
        name,
      ).catch((e) => console.error("detach:", e));
      for (const s of schemas) {
        await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
      }
      await unregisterTestResources(stack, names.connector).catch(() => undefined);
      await pool.end();
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`at_${id}.`));
      if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
      await admin.deleteGroups([config.PROJECTOR_GROUP]).catch(() => undefined);
      await admin.disconnect();
      await ch.close();
      rmSync(chdbDir, { recursive: true, force: true });
    },
  };
  return fixture;
}
