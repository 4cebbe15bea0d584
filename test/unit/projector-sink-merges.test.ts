import { describe, expect, test } from "vitest";
import type { ClickHouse } from "../../src/clickhouse/client.js";
import { ClickHouseSink } from "../../src/projector/sink.js";
import { createLogger } from "../../src/shared/logger.js";

/** A ClickHouse that records statements and refuses inserts while `full` (unit speed; the real disk-full run is test/e2e/faults.test.ts). */
function recordingClickHouse() {
  const state = { full: false, system: [] as string[] };
  const ch = {
    command: async ({ query }: { query: string }) => {
      if (query.startsWith("SYSTEM")) state.system.push(query);
      else if (query.startsWith("INSERT") && state.full)
        throw new Error("Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)");
      return {};
    },
  } as unknown as ClickHouse;
  return { ch, state };
}

describe("merges while the disk refuses inserts", () => {
  test("stopped at the first refused insert, started again by the first insert that gets through", async () => {
    const { ch, state } = recordingClickHouse();
    const sink = new ClickHouseSink(ch, { database: "sidecar" }, createLogger("silent"));
    const line = Buffer.from('{"id":1}\n');
    await sink.insertJsonLines("t", line);
    expect(state.system).toEqual([]);

    state.full = true;
    await expect(sink.insertJsonLines("t", line)).rejects.toThrow(/not enough space/);
    await expect(sink.insertJsonLines("t", line)).rejects.toThrow(/not enough space/);
    expect(state.system).toEqual(["SYSTEM STOP MERGES `sidecar`.`t`"]);

    state.full = false;
    await sink.insertJsonLines("t", line);
    await sink.insertJsonLines("t", line);
    expect(state.system).toEqual(["SYSTEM STOP MERGES `sidecar`.`t`", "SYSTEM START MERGES `sidecar`.`t`"]);
  });

  test("started again only once the parts written meanwhile are checked (onDiskBack, told when the refusals began)", async () => {
    const { ch, state } = recordingClickHouse();
    const sink = new ClickHouseSink(ch, { database: "sidecar" }, createLogger("silent"));
    const told: Date[] = [];
    let checked = () => {};
    sink.onDiskBack = (since) => {
      told.push(since);
      return new Promise<void>((resolve) => {
        checked = resolve;
      });
    };
    const line = Buffer.from('{"id":1}\n');
    state.full = true;
    const refusedAt = Date.now();
    await expect(sink.insertJsonLines("t", line)).rejects.toThrow(/not enough space/);
    state.full = false;
    await sink.insertJsonLines("t", line);
    await sink.insertJsonLines("t", line);
    expect(told).toHaveLength(1);
    expect(refusedAt - (told[0] as Date).getTime(), "a minute before the first refusal").toBeGreaterThanOrEqual(59_000);
    expect(state.system, "merges still stopped while the check runs").toEqual(["SYSTEM STOP MERGES `sidecar`.`t`"]);
    checked();
    await new Promise((r) => setTimeout(r, 10));
    expect(state.system).toEqual(["SYSTEM STOP MERGES `sidecar`.`t`", "SYSTEM START MERGES `sidecar`.`t`"]);
  });
});
