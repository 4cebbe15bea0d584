import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafka } from "../../src/shared/kafka.js";
import { parseLsn } from "../../src/shared/lsn.js";
import { type DebeziumEvent, waitForTopic } from "../helpers/kafka.js";
import { stackEnv } from "../helpers/stack.js";
import { type WriteHarness, writeHarness } from "../helpers/write-api.js";

/**
 * End to end through the running demo connector: a command's change reaches its Kafka
 * topic (sidecar.shop.<table>) via Debezium, and the change's source LSN lies below the
 * consistency token the command returned.
 */
let h: WriteHarness;
const brokers = () => stackEnv().KAFKA_BROKERS.split(",");

/** High watermarks of a topic now: events of a write made after this are at or past them. */
async function endOffsets(topic: string): Promise<Map<number, string>> {
  await waitForTopic(brokers(), topic);
  const admin = createKafka(brokers(), "test-write-cdc-admin").admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads a topic from the given offsets (not from the beginning: the demo topics grow with
 * every test and benchmark run) with a fresh group until `done` holds or the timeout passes.
 */
async function collectEvents(
  topic: string,
  from: Map<number, string>,
  done: (events: DebeziumEvent[]) => boolean,
  timeoutMs = 60_000,
): Promise<DebeziumEvent[]> {
  const consumer = createKafka(brokers(), "test-write-cdc").consumer({
    groupId: `test-write-cdc-${topic}-${Date.now()}-${Math.random()}`,
    maxWaitTimeInMs: 200,
  });
  const events: DebeziumEvent[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out reading ${topic}; got ${events.length} events`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ message }) => {
            if (!message.value) return; // tombstone
            const value = JSON.parse(message.value.toString()) as DebeziumEvent & { payload?: DebeziumEvent };
            events.push(value.payload ?? value); // {schema, payload} before stack/converter, the envelope alone after
            if (done(events)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
      for (const [partition, offset] of from) consumer.seek({ topic, partition, offset });
    });
  } finally {
    await consumer.disconnect();
  }
  return events;
}
beforeAll(async () => {
  h = await writeHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("write API → Postgres → Debezium → Kafka", () => {
  it("place-order's order, lines and stock changes arrive on their topics, below the consistency token", async () => {
    const c = await h.customer();
    const p = await h.product({ stock: 5, price: "3.25" });
    const [ordersFrom, linesFrom, productsFrom] = await Promise.all(
      ["sidecar.shop.orders", "sidecar.shop.order_lines", "sidecar.shop.products"].map(endOffsets),
    );
    const res = await h.send("POST", "/orders", { customerId: c.id, lines: [{ productId: p.id, quantity: 2 }] });
    expect(res.status).toBe(201);
    const order = await res.json();
    const token = parseLsn(order.consistencyToken);

    const [orders, lines, products] = await Promise.all([
      collectEvents("sidecar.shop.orders", ordersFrom as Map<number, string>, (evs) =>
        evs.some((e) => e.after?.id === order.id),
      ),
      collectEvents("sidecar.shop.order_lines", linesFrom as Map<number, string>, (evs) =>
        evs.some((e) => e.after?.order_id === order.id),
      ),
      collectEvents("sidecar.shop.products", productsFrom as Map<number, string>, (evs) =>
        evs.some((e) => e.after?.id === p.id && e.after?.stock === 3),
      ),
    ]);
    const orderEvent = orders.find((e) => e.after?.id === order.id);
    expect(orderEvent?.op).toBe("c");
    expect(orderEvent?.after).toMatchObject({ customer_id: c.id, status: "placed", total: "6.50" });
    const lineEvent = lines.find((e) => e.after?.order_id === order.id);
    expect(lineEvent?.after).toMatchObject({ line_no: 1, product_id: p.id, quantity: 2, unit_price: "3.25" });
    const stockEvent = products.find((e) => e.after?.id === p.id && e.after?.stock === 3);
    expect(stockEvent?.op).toBe("u");
    expect(stockEvent?.before).toBeDefined();

    for (const e of [orderEvent, lineEvent, stockEvent]) {
      expect(typeof e?.source.lsn).toBe("number");
      expect(BigInt(e?.source.lsn as number)).toBeLessThan(token);
    }
  });

  it("a customer update arrives as a u event with the new version", async () => {
    const c = await h.customer();
    const from = await endOffsets("sidecar.shop.customers");
    const res = await h.send("PATCH", `/customers/${c.id}`, { name: "Changed via API" }, { "if-match": '"1"' });
    expect(res.status).toBe(200);
    const token = parseLsn((await res.json()).consistencyToken);
    const events = await collectEvents("sidecar.shop.customers", from, (evs) =>
      evs.some((e) => e.after?.id === c.id && e.after?.version === 2),
    );
    const update = events.find((e) => e.after?.id === c.id && e.after?.version === 2);
    expect(update?.op).toBe("u");
    expect(update?.after?.name).toBe("Changed via API");
    expect(BigInt(update?.source.lsn as number)).toBeLessThan(token);
  });
});
