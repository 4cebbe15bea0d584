import { afterAll, describe, expect, test } from "vitest";
import { openClickHouse, queryRows } from "../../src/clickhouse/client.js";
import { ClickHouseSink } from "../../src/projector/sink.js";
import { createLogger } from "../../src/shared/logger.js";

// Embedded chDB in memory: the setting is the engine's to honour, so it is checked on the engine.
describe("every part of the sidecar's tables is wide (ddl.ts TABLE_SETTINGS)", () => {
  const opened = openClickHouse("chdb::memory:");
  afterAll(async () => (await opened).close());

  test("a table created before the setting gets it at start; the parts written then are wide", async () => {
    const ch = await opened;
    await ch.command({ query: "CREATE DATABASE wide_parts" });
    await ch.command({
      query:
        "CREATE TABLE wide_parts._sidecar_progress (`table` String, source String, last_lsn UInt64, last_commit_ts DateTime64(6, 'UTC'), updated_at DateTime64(6, 'UTC')) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (`table`)",
    });
    await new ClickHouseSink(ch, { database: "wide_parts" }, createLogger("silent")).init();
    const tables = await queryRows<{ name: string; engine_full: string }>(
      ch,
      "SELECT name, engine_full FROM system.tables WHERE database = 'wide_parts' ORDER BY name",
    );
    expect(tables.map((t) => t.name)).toEqual(["_sidecar_progress", "_sidecar_table_health"]);
    for (const t of tables) expect(t.engine_full).toContain("min_bytes_for_wide_part = 0");

    await ch.command({ query: "INSERT INTO wide_parts._sidecar_progress (`table`) VALUES ('t')" });
    const parts = await queryRows<{ part_type: string }>(
      ch,
      "SELECT part_type FROM system.parts WHERE database = 'wide_parts' AND active",
    );
    expect(parts).toEqual([{ part_type: "Wide" }]);
  });
});
