import { readdirSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { openClickHouse, queryRows } from "../../src/clickhouse/client.js";
import { findDamagedParts, PartDoctor } from "../../src/projector/damaged-parts.js";
import { ClickHouseSink } from "../../src/projector/sink.js";
import { type Degradation, TableHealth } from "../../src/projector/table-health.js";
import { createLogger } from "../../src/shared/logger.js";

// Embedded chDB: the check is the engine's, so it runs on the engine. A part is damaged the way
// the disk-full fault left one (docs/operations.md): its marks file emptied after its commit.
describe("parts written damaged while the disk was full (damaged-parts.ts)", () => {
  const opened = openClickHouse("chdb::memory:");
  afterAll(async () => (await opened).close());
  const log = createLogger("silent");

  async function tableWithThreeParts(db: string) {
    const ch = await opened;
    await new ClickHouseSink(ch, { database: db }, log).init();
    await ch.command({
      query: `CREATE TABLE ${db}.shop__orders (id UInt64, v String, _version UInt64, _deleted UInt8) ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY id`,
    });
    await ch.command({ query: `SYSTEM STOP MERGES ${db}.shop__orders` });
    for (let i = 0; i < 3; i++)
      await ch.command({
        query: `INSERT INTO ${db}.shop__orders SELECT number, toString(number), ${i}, 0 FROM numbers(${i * 1000}, 1000)`,
      });
    await ch.command({
      query: `INSERT INTO ${db}._sidecar_progress (\`table\`, source, last_lsn) VALUES ('shop__orders', 'shop.orders', 1)`,
    });
    const parts = await queryRows<{ name: string; path: string }>(
      ch,
      `SELECT name, path FROM system.parts WHERE database = '${db}' AND table = 'shop__orders' AND active ORDER BY name`,
    );
    const damaged = parts[1] as { name: string; path: string };
    const marks = readdirSync(damaged.path).find((f) => /mrk/.test(f)) as string;
    truncateSync(join(damaged.path, marks), 0);
    await expect(queryRows(ch, `SELECT count() FROM ${db}.shop__orders FINAL WHERE v != ''`)).rejects.toThrow(
      /marks file/i,
    );
    return { ch, damaged: damaged.name };
  }

  function memoryHealth() {
    const saved: unknown[] = [];
    const store = { load: async (): Promise<Degradation[]> => [], save: async (e: unknown[]) => void saved.push(...e) };
    return { health: new TableHealth(store, log), saved };
  }

  test("found by its check, detached, its table marked while read again, then cleared", async () => {
    const { ch, damaged } = await tableWithThreeParts("doctor_ok");
    const before = new Date(Date.now() - 60_000);
    expect(await findDamagedParts(ch, "doctor_ok", new Date(Date.now() + 5_000)), "only parts written since").toEqual(
      [],
    );
    const found = await findDamagedParts(ch, "doctor_ok", before);
    expect(found.map((d) => [d.table, d.part, d.rows])).toEqual([["shop__orders", damaged, 1000]]);
    expect(found[0]?.problem).toMatch(/size of file/i);

    const { health, saved } = memoryHealth();
    const reread: string[][] = [];
    const doctor = new PartDoctor({
      ch,
      database: "doctor_ok",
      health,
      log,
      sourceOf: (t) => new ClickHouseSink(ch, { database: "doctor_ok" }, log).sourceOf(t),
      reread: async (target, source) => {
        reread.push([target, source, String(health.isDegraded(target))]);
        return undefined;
      },
    });
    await doctor.schedule(before);
    await doctor.idle();
    expect(reread, "read again from its source, marked degraded meanwhile").toEqual([
      ["shop__orders", "shop.orders", "true"],
    ]);
    expect(health.list(), "the mark is cleared once read again").toEqual([]);
    expect(saved.map((e) => (e as { degraded: boolean }).degraded)).toEqual([true, false]);
    const detached = await queryRows<{ name: string }>(
      ch,
      "SELECT name FROM system.detached_parts WHERE database = 'doctor_ok'",
    );
    expect(detached.map((d) => d.name)).toEqual([damaged]);
    const rows = await queryRows<{ n: string }>(ch, "SELECT toString(count()) AS n FROM doctor_ok.shop__orders FINAL");
    expect(rows, "the table reads again (the two whole parts)").toEqual([{ n: "2000" }]);
  });

  test("a table that cannot be read again stays degraded, naming repair", async () => {
    const { ch } = await tableWithThreeParts("doctor_no");
    const { health } = memoryHealth();
    const doctor = new PartDoctor({
      ch,
      database: "doctor_no",
      health,
      log,
      sourceOf: async () => "shop.orders",
      reread: async () => "no Postgres connector captures shop.orders",
    });
    await doctor.schedule(new Date(Date.now() - 60_000));
    await doctor.idle();
    expect(health.list()).toEqual([
      expect.objectContaining({
        target: "shop__orders",
        source: "shop.orders",
        reason: expect.stringMatching(
          /written damaged while the disk was full .*no Postgres connector captures shop\.orders.*repair --table shop\.orders/,
        ),
      }),
    ]);
  });
});
