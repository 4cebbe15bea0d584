import { afterEach, describe, expect, it, vi } from "vitest";
import { DeterministicFailure } from "../../src/projector/failures.js";
import { Abandoned, Retrier } from "../../src/projector/retry.js";
import type { Logger } from "../../src/shared/logger.js";

const transient = () => Object.assign(new Error("Too many parts"), { code: "252" });
const deterministic = () => Object.assign(new Error("Syntax error"), { code: "62" });

function fakeLog() {
  const warn = vi.fn();
  return { log: { warn, info: vi.fn(), error: vi.fn() } as unknown as Logger, warn };
}

/** A function failing with `failures` in order, then returning "done"; records when each attempt ran. */
function failing(failures: (() => unknown)[]) {
  const at: number[] = [];
  const fn = vi.fn(async () => {
    at.push(Date.now());
    const next = failures.shift();
    if (next) throw next();
    return "done";
  });
  return { fn, at };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Retrier", () => {
  it("returns the result of a first success without waiting or retrying", async () => {
    const onRetry = vi.fn();
    const { fn } = failing([]);
    const r = new Retrier(fakeLog().log, 1000, onRetry);
    await expect(r.run("insert", fn, { alive: () => true, deterministicAttempts: 3 })).resolves.toBe("done");
    expect(fn).toHaveBeenCalledTimes(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it("throws Abandoned without calling fn when the work is not wanted", async () => {
    const { fn } = failing([]);
    const r = new Retrier(fakeLog().log, 1000);
    await expect(r.run("insert", fn, { alive: () => false, deterministicAttempts: 3 })).rejects.toBeInstanceOf(
      Abandoned,
    );
    expect(fn).not.toHaveBeenCalled();
  });

  it("gives a deterministic failure `deterministicAttempts` tries, then throws DeterministicFailure", async () => {
    vi.useFakeTimers();
    const onRetry = vi.fn();
    const { fn } = failing([deterministic, deterministic, deterministic, deterministic]);
    const r = new Retrier(fakeLog().log, 1000, onRetry);
    const result = r.run("insert", fn, { alive: () => true, deterministicAttempts: 3 }).catch((e) => e);
    await vi.runAllTimersAsync();
    const err = await result;
    expect(err).toBeInstanceOf(DeterministicFailure);
    expect(err.stage).toBe("insert");
    expect(err.attempts).toBe(3);
    expect(err.cause.message).toBe("Syntax error");
    expect(fn).toHaveBeenCalledTimes(3);
    // Retried twice; the third failure is thrown, not retried.
    expect(onRetry).toHaveBeenCalledTimes(2);
    expect(onRetry).toHaveBeenCalledWith("insert");
  });

  it("one deterministic attempt: thrown at once, without a wait", async () => {
    const { fn } = failing([deterministic]);
    const onRetry = vi.fn();
    const r = new Retrier(fakeLog().log, 1000, onRetry);
    const started = Date.now();
    await expect(r.run("schema", fn, { alive: () => true, deterministicAttempts: 1 })).rejects.toBeInstanceOf(
      DeterministicFailure,
    );
    expect(Date.now() - started).toBeLessThan(50);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it("retries transient failures whatever deterministicAttempts says; they do not count towards it", async () => {
    vi.useFakeTimers();
    const { fn } = failing([transient, transient, deterministic, transient, transient]);
    const r = new Retrier(fakeLog().log, 1000);
    const result = r.run("insert", fn, { alive: () => true, deterministicAttempts: 2 });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe("done");
    expect(fn).toHaveBeenCalledTimes(6);
  });

  it("retries every failure with deterministicAttempts Infinity", async () => {
    vi.useFakeTimers();
    const { fn } = failing([deterministic, () => new TypeError("x"), deterministic, deterministic]);
    const r = new Retrier(fakeLog().log, 1000);
    const result = r.run("commit", fn, { alive: () => true, deterministicAttempts: Number.POSITIVE_INFINITY });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe("done");
    expect(fn).toHaveBeenCalledTimes(5);
  });

  it("passes Abandoned and DeterministicFailure from fn through untouched, without retrying", async () => {
    for (const thrown of [new Abandoned("inner"), new DeterministicFailure("inner", new Error("x"), 1)]) {
      const fn = vi.fn(async () => {
        throw thrown;
      });
      const r = new Retrier(fakeLog().log, 1000);
      await expect(
        r.run("outer", fn, { alive: () => true, deterministicAttempts: Number.POSITIVE_INFINITY }),
      ).rejects.toBe(thrown);
      expect(fn).toHaveBeenCalledTimes(1);
    }
  });

  it("backs off from 100 ms, doubling up to maxBackoffMs", async () => {
    vi.useFakeTimers();
    const { fn, at } = failing(Array.from({ length: 7 }, () => transient));
    const r = new Retrier(fakeLog().log, 1000);
    const result = r.run("insert", fn, { alive: () => true, deterministicAttempts: 3 });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe("done");
    const waits = at.slice(1).map((t, i) => t - (at[i] as number));
    expect(waits).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it("beats while waiting (every 200 ms at most) and ignores a failing beat", async () => {
    vi.useFakeTimers();
    const { fn } = failing([transient, transient, transient]);
    const beat = vi.fn(async () => {
      throw new Error("rebalancing");
    });
    const r = new Retrier(fakeLog().log, 10_000);
    const result = r.run("insert", fn, { alive: () => true, beat, deterministicAttempts: 3 });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe("done");
    // Waits of 100, 200 and 400 ms: 1 + 1 + 2 beats.
    expect(beat).toHaveBeenCalledTimes(4);
  });

  it("stops waiting as soon as the work is no longer wanted, and throws Abandoned", async () => {
    vi.useFakeTimers();
    let alive = true;
    const fn = vi.fn(async () => {
      throw transient();
    });
    const r = new Retrier(fakeLog().log, 60_000);
    const result = r.run("insert", fn, { alive: () => alive, deterministicAttempts: 3 }).catch((e) => e);
    // Into a long wait: 100 + 200 + ... + 51,200 ms of backoff have passed after 10 attempts.
    await vi.advanceTimersByTimeAsync(102_300 + 50);
    expect(fn).toHaveBeenCalledTimes(11);
    alive = false;
    await vi.advanceTimersByTimeAsync(200);
    expect(await result).toBeInstanceOf(Abandoned);
    expect(fn).toHaveBeenCalledTimes(11);
  });

  it("logs the 1st and every 10th attempt", async () => {
    vi.useFakeTimers();
    const { log, warn } = fakeLog();
    const { fn } = failing(Array.from({ length: 21 }, () => transient));
    const r = new Retrier(log, 100);
    const result = r.run("dlq", fn, { alive: () => true, deterministicAttempts: 3 });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe("done");
    expect(warn.mock.calls.map(([fields]) => fields.attempt)).toEqual([1, 10, 20]);
    expect(warn.mock.calls[0]?.[0]).toEqual({ stage: "dlq", attempt: 1, err: "Too many parts" });
  });
});
