import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLsn } from "../../src/shared/lsn.js";
import { collectEvents } from "../helpers/kafka.js";
import { stackEnv } from "../helpers/stack.js";
import { type WriteHarness, writeHarness } from "../helpers/write-api.js";

/**
 * End to end through the running demo connector: a command's change reaches its Kafka
 * topic (sidecar.shop.<table>) via Debezium, and the change's source LSN lies below the
 * consistency token the command returned.
 */
let h: WriteHarness;
const brokers = () => stackEnv().KAFKA_BROKERS.split(",");
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
    const res = await h.send("POST", "/orders", { customerId: c.id, lines: [{ productId: p.id, quantity: 2 }] });
    expect(res.status).toBe(201);
    const order = await res.json();
    const token = parseLsn(order.consistencyToken);

    const [orders, lines, products] = await Promise.all([
      collectEvents(brokers(), "sidecar.shop.orders", (evs) => evs.some((e) => e.after?.id === order.id)),
      collectEvents(brokers(), "sidecar.shop.order_lines", (evs) => evs.some((e) => e.after?.order_id === order.id)),
      collectEvents(brokers(), "sidecar.shop.products", (evs) =>
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
    const res = await h.send("PATCH", `/customers/${c.id}`, { name: "Changed via API" }, { "if-match": '"1"' });
    expect(res.status).toBe(200);
    const token = parseLsn((await res.json()).consistencyToken);
    const events = await collectEvents(brokers(), "sidecar.shop.customers", (evs) =>
      evs.some((e) => e.after?.id === c.id && e.after?.version === 2),
    );
    const update = events.find((e) => e.after?.id === c.id && e.after?.version === 2);
    expect(update?.op).toBe("u");
    expect(update?.after?.name).toBe("Changed via API");
    expect(BigInt(update?.source.lsn as number)).toBeLessThan(token);
  });
});
