import { describe, expect, it, vi } from "vitest";
import { ControlListener } from "../../src/projector/control.js";
import type { ClickHouseSink } from "../../src/projector/sink.js";
import { type HealthStore, TableHealth } from "../../src/projector/table-health.js";
import type { ControlCommand } from "../../src/shared/control.js";
import type { Logger } from "../../src/shared/logger.js";

/**
 * The commands that act on this process's ClickHouse and health marks only. Receiving them
 * (the control topic) and finish-resnapshot (waits on the group's committed offsets) need Kafka:
 * the integration tests cover those. Kafka, its admin and the producer are never touched here.
 */
function setup() {
  const log = { info: vi.fn(), error: vi.fn(), warn: vi.fn() } as unknown as Logger;
  const saved: Parameters<HealthStore["save"]>[0][] = [];
  const health = new TableHealth(
    {
      load: async () => [],
      save: async (e) => {
        saved.push(e);
      },
    },
    log,
  );
  const calls: string[] = [];
  const sink = {
    dropTable: vi.fn(async (t: string) => {
      calls.push(`drop ${t}`);
    }),
  };
  const notKafka = () => {
    throw new Error("Kafka is not used by these commands");
  };
  const listener = new ControlListener(notKafka as never, notKafka as never, notKafka as never, {
    topicPrefix: "sidecar",
    group: "sidecar-projector",
    sink: sink as unknown as ClickHouseSink,
    health,
    log,
  });
  // handle is private: the commands are tested without the consumer that feeds them.
  const handle = (cmd: ControlCommand) =>
    (listener as unknown as { handle(cmd: ControlCommand): Promise<string> }).handle(cmd);
  return { handle, health, sink, saved, calls };
}

describe("ControlListener commands", () => {
  it("clear-degraded clears the mark and stores that at once", async () => {
    const { handle, health, saved } = setup();
    health.mark("public_orders", "public.orders", "set aside");
    await health.flush();
    saved.length = 0;
    await expect(handle({ op: "clear-degraded", target: "public_orders" })).resolves.toBe(
      "public_orders: degraded mark cleared",
    );
    expect(health.isDegraded("public_orders")).toBe(false);
    expect(saved).toEqual([[expect.objectContaining({ target: "public_orders", degraded: false })]]);
  });

  it("clear-degraded of a healthy table says so and stores nothing", async () => {
    const { handle, saved } = setup();
    await expect(handle({ op: "clear-degraded", target: "public_orders" })).resolves.toBe(
      "public_orders was not degraded",
    );
    expect(saved).toEqual([]);
  });

  it("drop-tables drops each table, clears its mark and stores the marks", async () => {
    const { handle, health, sink, saved } = setup();
    health.mark("public_a", "public.a", "set aside");
    await expect(handle({ op: "drop-tables", targets: ["public_a", "public_b"] })).resolves.toBe("dropped 2 table(s)");
    expect(sink.dropTable.mock.calls).toEqual([["public_a"], ["public_b"]]);
    expect(health.list()).toEqual([]);
    expect(saved).toEqual([[expect.objectContaining({ target: "public_a", degraded: false })]]);
  });

  it("a failing drop stops there: the answer is the error, later tables are left alone", async () => {
    const { handle, health, sink } = setup();
    health.mark("public_a", "public.a", "set aside");
    sink.dropTable.mockRejectedValueOnce(new Error("ClickHouse away"));
    await expect(handle({ op: "drop-tables", targets: ["public_a", "public_b"] })).rejects.toThrow("ClickHouse away");
    expect(sink.dropTable).toHaveBeenCalledTimes(1);
    expect(health.isDegraded("public_a")).toBe(true);
  });

  it("snapshot is not a command handled inline (it runs as a job)", async () => {
    const { handle } = setup();
    await expect(
      handle({
        op: "snapshot",
        connector: "shop",
        snapshot: "00000003-00000002-1",
        version: "150000",
        lsn: "1",
        commitTs: "2026-11-29 10:00:00.000000",
        tables: [],
      }),
    ).rejects.toThrow("snapshot runs as a job");
  });
});
