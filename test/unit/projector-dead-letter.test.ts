import type { KafkaMessage, Message, Producer, ProducerRecord } from "kafkajs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DeadLetters, type Poison } from "../../src/projector/dead-letter.js";
import { Abandoned, Retrier } from "../../src/projector/retry.js";
import type { Logger } from "../../src/shared/logger.js";

const source = { topic: "sidecar.public.orders", partition: 2 };

const message = (offset: string, value: string | Buffer | null = `{"op":"c","n":${offset}}`): KafkaMessage => ({
  key: Buffer.from(`{"id":${offset}}`),
  value: typeof value === "string" ? Buffer.from(value) : value,
  offset,
  timestamp: "0",
  attributes: 0,
  headers: { "sidecar.schema": "abc123" },
});

const poison = (offset: string, kind: Poison["kind"] = "insert-rejected", value?: string | Buffer | null): Poison => ({
  message: value === undefined ? message(offset) : message(offset, value),
  kind,
  reason: `reason ${offset}`,
});

/** Our producer as DeadLetters uses it: `send` only; records each request. */
function fakeProducer() {
  const sent: ProducerRecord[] = [];
  const send = vi.fn(async (record: ProducerRecord) => {
    sent.push(record);
    return [];
  });
  return { producer: { send } as unknown as Producer, send, sent };
}

function setup() {
  const { producer, send, sent } = fakeProducer();
  const log = { error: vi.fn(), warn: vi.fn(), info: vi.fn() };
  const count = vi.fn();
  const retrier = new Retrier(log as unknown as Logger, 1000);
  const dlq = new DeadLetters(producer, "sidecar.dlq", retrier, log as unknown as Logger, count);
  return { dlq, send, sent, log, count };
}

const alive = () => true;
const beat = async () => undefined;

afterEach(() => {
  vi.useRealTimers();
});

describe("DeadLetters", () => {
  it("nothing to send: no request", async () => {
    const { dlq, send, count } = setup();
    await dlq.send(source, [], alive, beat);
    expect(send).not.toHaveBeenCalled();
    expect(count).not.toHaveBeenCalled();
  });

  it("sends each message with its key, value, headers and why (dlq.* headers), acks from all replicas", async () => {
    vi.useFakeTimers({ now: new Date("2026-11-29T12:00:00.000Z") });
    const { dlq, sent } = setup();
    const p = [poison("41", "insert-rejected"), poison("42", "failed")];
    await dlq.send(source, p, alive, beat);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.topic).toBe("sidecar.dlq");
    expect(sent[0]?.acks).toBe(-1);
    const m = sent[0]?.messages as Message[];
    expect(m.map((x) => x.key)).toEqual([p[0]?.message.key, p[1]?.message.key]);
    expect(m.map((x) => x.value)).toEqual([p[0]?.message.value, p[1]?.message.value]);
    expect(m[0]?.headers).toEqual({
      "sidecar.schema": "abc123",
      "dlq.reason": "reason 41",
      "dlq.kind": "insert-rejected",
      "dlq.topic": "sidecar.public.orders",
      "dlq.partition": "2",
      "dlq.offset": "41",
      "dlq.at": "2026-11-29T12:00:00.000Z",
    });
    expect(m[1]?.headers).toMatchObject({ "dlq.kind": "failed", "dlq.offset": "42" });
  });

  it("a message without headers or value is sent with the dlq.* headers", async () => {
    const { dlq, sent } = setup();
    const p = poison("7", "failed", null);
    p.message.headers = undefined;
    await dlq.send(source, [p], alive, beat);
    const m = sent[0]?.messages[0];
    expect(m?.value).toBeNull();
    expect(Object.keys(m?.headers ?? {}).sort()).toEqual([
      "dlq.at",
      "dlq.kind",
      "dlq.offset",
      "dlq.partition",
      "dlq.reason",
      "dlq.topic",
    ]);
  });

  it("splits large poison into requests of about 512 KB, in order", async () => {
    const { dlq, sent } = setup();
    const big = "x".repeat(200 * 1024);
    const p = ["1", "2", "3", "4", "5"].map((o) => poison(o, "failed", big));
    await dlq.send(source, p, alive, beat);
    // Two 200 KB messages fit in 512 KB, a third does not.
    expect(sent.map((r) => r.messages.map((m) => (m.headers as Record<string, string>)["dlq.offset"]))).toEqual([
      ["1", "2"],
      ["3", "4"],
      ["5"],
    ]);
  });

  it("a message larger than a chunk is sent alone, and never leaves an empty request", async () => {
    const { dlq, sent } = setup();
    const huge = "y".repeat(600 * 1024);
    await dlq.send(source, [poison("1"), poison("2", "failed", huge), poison("3")], alive, beat);
    expect(sent.map((r) => r.messages.length)).toEqual([1, 1, 1]);
    sent.length = 0;
    await dlq.send(source, [poison("4", "failed", huge), poison("5")], alive, beat);
    expect(sent.map((r) => r.messages.length)).toEqual([1, 1]);
  });

  it("counts about 1 KB a message for its headers: many small messages are split too", async () => {
    const { dlq, sent } = setup();
    const p = Array.from({ length: 600 }, (_, i) => poison(String(i), "failed", ""));
    await dlq.send(source, p, alive, beat);
    expect(sent).toHaveLength(2);
    const offsets = sent.flatMap((r) => r.messages.map((m) => (m.headers as Record<string, string>)["dlq.offset"]));
    expect(offsets).toEqual(p.map((x) => x.message.offset));
  });

  it("retries a failing send, even one that looks deterministic, until it is stored", async () => {
    vi.useFakeTimers();
    const { dlq, send, sent, count } = setup();
    // Kafka away, then failures a ClickHouse step would give up on after a few tries.
    const failures = [
      new Error("leader not available"),
      new TypeError("bad"),
      Object.assign(new Error("not retriable"), { retriable: false }),
      new TypeError("bad"),
    ];
    send.mockImplementation(async (record: ProducerRecord) => {
      const next = failures.shift();
      if (next) throw next;
      sent.push(record);
      return [];
    });
    const done = dlq.send(source, [poison("1")], alive, beat);
    await vi.runAllTimersAsync();
    await done;
    expect(send).toHaveBeenCalledTimes(5);
    expect(sent).toHaveLength(1);
    expect(count).toHaveBeenCalledTimes(1);
  });

  it("counts each message by kind, after it is stored", async () => {
    const { dlq, count } = setup();
    await dlq.send(source, [poison("1", "failed"), poison("2", "insert-rejected"), poison("3", "failed")], alive, beat);
    expect(count.mock.calls).toEqual([["failed"], ["insert-rejected"], ["failed"]]);
  });

  it("logs each message once, even when it is sent again", async () => {
    const { dlq, log, count } = setup();
    await dlq.send(source, [poison("1"), poison("2")], alive, beat);
    await dlq.send(source, [poison("2"), poison("3")], alive, beat);
    await dlq.send({ ...source, partition: 3 }, [poison("2")], alive, beat);
    expect(log.error.mock.calls.map(([f]) => `${f.partition}:${f.offset}`)).toEqual(["2:1", "2:2", "2:3", "3:2"]);
    expect(log.error.mock.calls[0]?.[0]).toMatchObject({
      topic: "sidecar.public.orders",
      kind: "insert-rejected",
      reason: "reason 1",
      dlq: "sidecar.dlq",
    });
    // Counted every time it is sent.
    expect(count).toHaveBeenCalledTimes(5);
  });

  it("abandons without sending or counting when the work is no longer wanted", async () => {
    const { dlq, send, count } = setup();
    await expect(dlq.send(source, [poison("1")], () => false, beat)).rejects.toBeInstanceOf(Abandoned);
    expect(send).not.toHaveBeenCalled();
    expect(count).not.toHaveBeenCalled();
  });
});
