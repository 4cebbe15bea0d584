import { describe, expect, it } from "vitest";
import { capturedTopics } from "../../src/projector/topics.js";

describe("capturedTopics", () => {
  const all = [
    "sidecar.public.orders",
    "sidecar.crm.accounts",
    "sidecar.public.items",
    "sidecar.dlq", // one part: the default dead-letter topic
    "sidecar.__control",
    "sidecar.transaction",
    "sidecar.a.b.c", // three parts
    "sidecar.", // nothing after the prefix
    "sidecarx.public.orders", // another prefix that starts the same
    "other.public.orders",
    "__debezium-heartbeat.sidecar",
    "_sidecar_schemas",
    "_connect_offsets",
  ];

  it("every <prefix>.<schema>.<table> topic, sorted; nothing else under or beside the prefix", () => {
    expect(capturedTopics(all, "sidecar", "sidecar.dlq", [])).toEqual([
      "sidecar.crm.accounts",
      "sidecar.public.items",
      "sidecar.public.orders",
    ]);
  });

  it("leaves out the dead-letter topic even when it looks like a table's topic", () => {
    expect(capturedTopics(all, "sidecar", "sidecar.public.items", [])).toEqual([
      "sidecar.crm.accounts",
      "sidecar.public.orders",
    ]);
  });

  it("works with a prefix holding dots", () => {
    expect(capturedTopics(["prod.eu.public.orders", "prod.eu.dlq", "prod.public.orders"], "prod.eu", "x", [])).toEqual([
      "prod.eu.public.orders",
    ]);
  });

  it("an explicit list wins over the listing, sorted, without changing the caller's array", () => {
    const explicit = ["z.topic", "a.topic"];
    expect(capturedTopics(all, "sidecar", "sidecar.dlq", explicit)).toEqual(["a.topic", "z.topic"]);
    expect(explicit).toEqual(["z.topic", "a.topic"]);
  });

  it("none when nothing is captured yet", () => {
    expect(capturedTopics([], "sidecar", "sidecar.dlq", [])).toEqual([]);
    expect(capturedTopics(["sidecar.dlq", "_sidecar_schemas"], "sidecar", "sidecar.dlq", [])).toEqual([]);
  });
});
