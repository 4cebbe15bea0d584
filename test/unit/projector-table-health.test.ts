import { afterEach, describe, expect, it, vi } from "vitest";
import { type Degradation, type HealthStore, TableHealth } from "../../src/projector/table-health.js";
import type { Logger } from "../../src/shared/logger.js";

type Saved = Parameters<HealthStore["save"]>[0];

function setup(loaded: Degradation[] = []) {
  const saves: Saved[] = [];
  const store = {
    load: vi.fn(async () => loaded),
    save: vi.fn(async (entries: Saved) => {
      saves.push(entries);
    }),
  };
  const log = { error: vi.fn(), info: vi.fn(), warn: vi.fn() };
  const onChange = vi.fn();
  const health = new TableHealth(store, log as unknown as Logger, onChange);
  return { health, store, saves, log, onChange };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("TableHealth", () => {
  it("marks a table degraded with its source, reason and time; reports it", () => {
    vi.useFakeTimers({ now: new Date("2026-11-29T10:00:00Z") });
    const { health, onChange, log } = setup();
    expect(health.isDegraded("public_orders")).toBe(false);
    health.mark("public_orders", "public.orders", "an event was set aside");
    expect(health.isDegraded("public_orders")).toBe(true);
    expect(health.isDegraded("public_items")).toBe(false);
    expect(health.get("public_orders")).toEqual({
      target: "public_orders",
      source: "public.orders",
      reason: "an event was set aside",
      since: new Date("2026-11-29T10:00:00Z"),
    });
    expect(health.list()).toEqual([health.get("public_orders")]);
    expect(onChange).toHaveBeenCalledWith("public_orders", true);
    expect(log.error).toHaveBeenCalledTimes(1);
  });

  it("keeps the first reason until cleared, reporting and storing it once", async () => {
    vi.useFakeTimers({ now: new Date("2026-11-29T10:00:00Z") });
    const { health, onChange, log, saves } = setup();
    health.mark("public_orders", "public.orders", "first");
    vi.setSystemTime(new Date("2026-11-29T11:00:00Z"));
    health.mark("public_orders", "public.orders", "second");
    expect(health.get("public_orders")?.reason).toBe("first");
    expect(health.get("public_orders")?.since).toEqual(new Date("2026-11-29T10:00:00Z"));
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(log.error).toHaveBeenCalledTimes(1);
    await health.flush();
    expect(saves).toEqual([
      [
        {
          target: "public_orders",
          source: "public.orders",
          degraded: true,
          reason: "first",
          since: new Date("2026-11-29T10:00:00Z"),
        },
      ],
    ]);
  });

  it("clear removes a mark (true) and is a no-op for a healthy table (false)", () => {
    const { health, onChange } = setup();
    expect(health.clear("public_orders")).toBe(false);
    expect(onChange).not.toHaveBeenCalled();
    health.mark("public_orders", "public.orders", "r");
    expect(health.clear("public_orders")).toBe(true);
    expect(health.isDegraded("public_orders")).toBe(false);
    expect(health.list()).toEqual([]);
    expect(onChange).toHaveBeenLastCalledWith("public_orders", false);
    // A new mark after clearing takes the new reason.
    health.mark("public_orders", "public.orders", "again");
    expect(health.get("public_orders")?.reason).toBe("again");
  });

  it("flush writes only what changed, once; nothing changed: no write", async () => {
    const { health, store, saves } = setup();
    await health.flush();
    expect(store.save).not.toHaveBeenCalled();
    health.mark("a", "public.a", "ra");
    health.mark("b", "public.b", "rb");
    await health.flush();
    expect(saves[0]?.map((e) => [e.target, e.degraded, e.reason])).toEqual([
      ["a", true, "ra"],
      ["b", true, "rb"],
    ]);
    await health.flush();
    expect(store.save).toHaveBeenCalledTimes(1);
    health.clear("a");
    await health.flush();
    expect(saves[1]).toEqual([
      { target: "a", source: "public.a", degraded: false, reason: "", since: expect.any(Date) },
    ]);
  });

  it("a mark and its clearing between flushes write the last state only", async () => {
    const { health, saves } = setup();
    health.mark("a", "public.a", "ra");
    health.clear("a");
    await health.flush();
    expect(saves).toEqual([
      [{ target: "a", source: "public.a", degraded: false, reason: "", since: expect.any(Date) }],
    ]);
  });

  it("a failed write is kept for the next flush", async () => {
    const { health, store, saves } = setup();
    health.mark("a", "public.a", "ra");
    store.save.mockRejectedValueOnce(new Error("ClickHouse away"));
    await expect(health.flush()).rejects.toThrow("ClickHouse away");
    await health.flush();
    expect(saves).toEqual([[expect.objectContaining({ target: "a", degraded: true, reason: "ra" })]]);
  });

  it("a failed write does not undo a change made while it was under way", async () => {
    const { health, store, saves } = setup();
    health.mark("a", "public.a", "ra");
    health.mark("b", "public.b", "rb");
    let fail: (e: Error) => void = () => undefined;
    store.save.mockImplementationOnce(
      () =>
        new Promise<void>((_, reject) => {
          fail = reject;
        }),
    );
    const first = health.flush();
    health.clear("a"); // newer than the write under way
    fail(new Error("ClickHouse away"));
    await expect(first).rejects.toThrow("ClickHouse away");
    await health.flush();
    const next = saves[0]?.map((e) => [e.target, e.degraded]);
    expect(next).toHaveLength(2);
    expect(next).toEqual(
      expect.arrayContaining([
        ["a", false],
        ["b", true],
      ]),
    );
  });

  it("load brings back the stored marks without writing them again", async () => {
    const since = new Date("2026-11-28T00:00:00Z");
    const { health, store, onChange, log } = setup([{ target: "a", source: "public.a", reason: "stored", since }]);
    await health.load();
    expect(health.get("a")).toEqual({ target: "a", source: "public.a", reason: "stored", since });
    expect(onChange).toHaveBeenCalledWith("a", true);
    expect(log.error).not.toHaveBeenCalled();
    await health.flush();
    expect(store.save).not.toHaveBeenCalled();
    // A loaded mark keeps its reason, and clearing it is stored.
    health.mark("a", "public.a", "newer");
    expect(health.get("a")?.reason).toBe("stored");
    expect(health.clear("a")).toBe(true);
    await health.flush();
    expect(store.save).toHaveBeenCalledWith([{ target: "a", source: "public.a", degraded: false, reason: "", since }]);
  });
});
