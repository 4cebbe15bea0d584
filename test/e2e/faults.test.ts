import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatVerifyReport, verifyAttachment } from "../../src/attach/verify.js";
import { createKafka } from "../../src/shared/kafka.js";
import { ShopLoad } from "../helpers/load.js";
import { type PrivateStack, startPrivateStack } from "../helpers/private-stack.js";

/**
 * Fault tests on a stack of their own: each stops or kills one part during a steady
 * write load, brings it back, and ends with the projection equal to Postgres.
 * They run only on the native stack (they drive stack.sh).
 */
const native = (process.env.TEST_STACK ?? "native") === "native";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SHOP_TABLES = ["customers", "products", "orders", "order_lines"].map((table) => ({ schema: "shop", table }));

describe.runIf(native).sequential("fault tolerance under load", () => {
  let s: PrivateStack;
  let pool: pg.Pool;
  let load: ShopLoad;

  beforeAll(async () => {
    s = await startPrivateStack(Number(process.env.FAULT_STACK_BASE_PORT ?? 25400));
    await s.startRole("write");
    await s.startRole("projectread");
    pool = new pg.Pool({ connectionString: s.env.DATABASE_URL, max: 2 });
    pool.on("error", () => {}); // Postgres is restarted on purpose below
    load = new ShopLoad(s.writeUrl);
    await load.seed();
  }, 600_000);

  afterAll(async () => {
    await load?.stop();
    await pool?.end();
    await s?.close();
  }, 300_000);

  /**
   * Ends each fault with `verify` (src/attach/verify.ts, the `cqrs-sidecar verify` command): it
   * waits until the read API has passed the source's current LSN, then compares the demo tables
   * row by row, every column, through the read API.
   */
  async function expectVerified() {
    expect(load.lastToken, "the load made at least one successful write").toBeTruthy();
    const report = await verifyAttachment(pool, { kind: "read-api", url: s.readUrl }, "shop", {
      tables: SHOP_TABLES,
      waitMs: 180_000,
      chunkRows: 5_000,
    });
    expect(report.projectionBehind, `the projection did not reach ${report.waitedForLsn} in 180 s`).toBe(false);
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report.tables.map((t) => t.postgresRows).every((n) => n > 0)).toBe(true);
  }

  it("SIGKILL of the projector during a load: restarted, nothing lost or duplicated", async () => {
    load.start();
    await sleep(4_000);
    await s.killRole("projectread", "SIGKILL");
    await sleep(3_000);
    await s.startRole("projectread");
    await sleep(3_000);
    await load.stop();
    await expectVerified();
  });

  it("Kafka Connect stopped and restarted during a load: the slot keeps the changes", async () => {
    load.start();
    await sleep(3_000);
    await s.stack("stop", "connect");
    await sleep(5_000);
    await s.stack("up");
    await sleep(3_000);
    await load.stop();
    await expectVerified();
  });

  it("the Kafka broker stopped and restarted during a load", async () => {
    load.start();
    await sleep(3_000);
    await s.stack("stop", "kafka");
    await sleep(8_000);
    await s.stack("up");
    await sleep(5_000);
    await load.stop();
    await expectVerified();
  });

  it("the projector process restarted (SIGTERM) during a load: it stores before it commits", async () => {
    load.start();
    await sleep(3_000);
    await s.killRole("projectread", "SIGTERM");
    await sleep(2_000);
    await s.startRole("projectread");
    await sleep(3_000);
    await load.stop();
    await expectVerified();
  });

  it("Postgres restarted: the write API answers 503 meanwhile, recovers, and the connector resumes", async () => {
    const before = new Map(load.statuses);
    load.start(2, 50);
    await sleep(2_000);
    await s.stack("stop", "postgres");
    await sleep(5_000);
    const during = await fetch(`${s.writeUrl}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        customerId: "00000000-0000-4000-8000-000000000000",
        lines: [{ productId: "00000000-0000-4000-8000-000000000000", quantity: 1 }],
      }),
    });
    expect(during.status).toBe(503);
    expect(during.headers.get("retry-after")).toMatch(/^\d+$/);
    await s.stack("up");
    const okBefore = load.ok;
    const deadline = Date.now() + 60_000;
    while (load.ok === okBefore && Date.now() < deadline) await sleep(250);
    expect(load.ok, "writes succeed again after Postgres is back").toBeGreaterThan(okBefore);
    await sleep(3_000);
    await load.stop();
    expect((load.statuses.get(500) ?? 0) - (before.get(500) ?? 0), "no 500 while Postgres was down").toBe(0);
    await expectVerified();
  });

  it("a burst of malformed messages on a captured topic: all in the DLQ, the rest projected", async () => {
    const kafka = createKafka([s.env.KAFKA_BROKERS!], "fault-test");
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    const dlqBefore = await topicSize(kafka, "sidecar.dlq");
    load.start();
    await sleep(1_000);
    const junk = Array.from({ length: 50 }, (_, i) => ({
      key: `junk-${i}`,
      value: i % 2 ? `not json ${i}` : JSON.stringify({ payload: { hello: i } }),
    }));
    await producer.send({ topic: "sidecar.shop.orders", messages: junk });
    await producer.disconnect();
    await sleep(2_000);
    await load.stop();
    await expectVerified();
    const deadline = Date.now() + 60_000;
    while ((await topicSize(kafka, "sidecar.dlq")) - dlqBefore < 50 && Date.now() < deadline) await sleep(500);
    expect((await topicSize(kafka, "sidecar.dlq")) - dlqBefore).toBe(50);
  });
});

async function topicSize(kafka: ReturnType<typeof createKafka>, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}
