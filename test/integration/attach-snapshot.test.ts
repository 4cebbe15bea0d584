import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attach, detach } from "../../src/attach/attach.js";
import { attachNames } from "../../src/attach/tables.js";
import { parseLsn } from "../../src/shared/lsn.js";
import { type AttachmentFixture, createAttachmentFixture } from "../helpers/attachment.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * attach's own snapshot (exported slot snapshot → COPY → ClickHouse, Debezium streaming with
 * snapshot.mode=no_data), on the real stack: many types and a partitioned table land exactly; a
 * transaction that was open while the slot was being created and commits after it (its change
 * LSNs below the consistent point) wins over its rows' snapshot copies; attaching again over an
 * earlier projection leaves no stale row. Each ends with verify clean.
 */
describe("attach: the sidecar's own snapshot", () => {
  let fx: AttachmentFixture;
  let s = "";

  beforeAll(async () => {
    fx = await createAttachmentFixture("os", (id) => [`os_${id}`]);
    s = `os_${fx.id}`;
    await fx.pool.query(`
      CREATE SCHEMA ${s};
      CREATE TYPE ${s}.mood AS ENUM ('sad', 'ok', 'happy');
      CREATE TABLE ${s}.items (
        id bigint PRIMARY KEY, qty int NOT NULL, small smallint, price numeric(12, 2), ratio numeric,
        f4 real, f8 double precision, ok boolean, name text, code char(4), u uuid, raw bytea,
        born date, at_time time, ts timestamp(3), ts6 timestamp, tstz timestamptz, span interval,
        doc jsonb, mood ${s}.mood, tags text[], nums int[], moods ${s}.mood[]
      );
      INSERT INTO ${s}.items
        SELECT g, g % 100, (g % 300)::smallint, CASE WHEN g % 11 = 0 THEN 'NaN'::numeric ELSE g / 7.0 END,
               CASE WHEN g % 17 = 0 THEN 'NaN'::numeric ELSE g / 3.0 END,
               g / 3.0, CASE WHEN g % 13 = 0 THEN 'Infinity'::float8 ELSE g / 7.0 END, g % 2 = 0,
               CASE WHEN g % 5 = 0 THEN NULL ELSE 'name "' || g || '" \\ é' END, 'ab', md5(g::text)::uuid,
               decode(lpad(to_hex(g), 8, '0'), 'hex'), date '2000-01-01' + g, time '00:00:00.5' + g * interval '1 s',
               timestamp '2024-01-01 00:00:00.123' + g * interval '1 min', timestamp '2024-01-01' + g * interval '1.000001 s',
               timestamptz '2024-01-01 12:00:00.654321+02' + g * interval '1 h', g * interval '1 day 1.5 s',
               jsonb_build_object('g', g, 's', 'x' || g), (ARRAY['sad','ok','happy'])[1 + g % 3]::${s}.mood,
               ARRAY['t' || g, 'u'], ARRAY[g, NULL, -g], ARRAY['ok', 'happy']::${s}.mood[]
          FROM generate_series(1, 3000) g;
      CREATE TABLE ${s}.events (id int NOT NULL, day date NOT NULL, what text, PRIMARY KEY (day, id))
        PARTITION BY RANGE (day);
      CREATE TABLE ${s}.events_a PARTITION OF ${s}.events FOR VALUES FROM ('2024-01-01') TO ('2024-07-01');
      CREATE TABLE ${s}.events_b PARTITION OF ${s}.events FOR VALUES FROM ('2024-07-01') TO ('2025-01-01');
      INSERT INTO ${s}.events SELECT g, date '2024-01-01' + g % 360, 'e' || g FROM generate_series(1, 2000) g;
      CREATE TABLE ${s}.accounts (id int PRIMARY KEY, balance int NOT NULL);
      INSERT INTO ${s}.accounts SELECT g, 100 FROM generate_series(1, 100) g;
    `);
  }, 300_000);

  afterAll(async () => {
    await fx?.close();
  }, 180_000);

  /** A client outside the fixture's pool: each holds one open transaction. */
  const session = async () => {
    const c = new pg.Client({ connectionString: fx.config.DATABASE_URL });
    await c.connect();
    return c;
  };

  it("copies every type exactly, and a transaction in flight at the consistent point wins", async () => {
    const slot = attachNames(fx.name).slot;
    const t1 = await session();
    const t2 = await session();
    const t3 = await session();
    const tables = ["items", "events", "accounts"].map((table) => ({ schema: s, table }));
    // T1 holds an xid: creating the slot waits for it (running_xacts #1).
    await t1.query("BEGIN");
    await t1.query(`UPDATE ${s}.accounts SET balance = 101 WHERE id = 1`);
    const projector = fx.startProjector();
    const attached = attach(fx.deps(), { name: fx.name, tables, stallMs: 120_000 });
    await fx.waitFor("the slot being created", async () => {
      const r = await fx.pool.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [slot]);
      return r.rowCount === 1;
    });
    // T2 gets its xid before the next running_xacts: the slot waits for it too (it lands in the snapshot).
    await t2.query("BEGIN");
    await t2.query(`UPDATE ${s}.accounts SET balance = 102 WHERE id = 2`);
    await t1.query("COMMIT");
    await fx.pool.query("CHECKPOINT"); // logs running_xacts #2 (T2 running): the slot decodes every newer xid in full
    await sleep(1_000);
    // T3 starts after #2: its changes are decoded, written before the consistent point, committed after it.
    await t3.query("BEGIN");
    await t3.query(`UPDATE ${s}.accounts SET balance = 103 WHERE id = 3`);
    await t3.query(`DELETE FROM ${s}.accounts WHERE id = 4`);
    await t3.query(`INSERT INTO ${s}.accounts VALUES (1000, 7)`);
    await t3.query(`UPDATE ${s}.items SET name = 'in flight', mood = 'sad' WHERE id = 5`);
    const t3Lsn = parseLsn((await t3.query("SELECT pg_current_wal_insert_lsn()::text AS l")).rows[0].l);
    await t2.query("COMMIT");
    await fx.pool.query("CHECKPOINT"); // running_xacts #3: only T3 (newer) runs, the slot is consistent
    await fx.waitFor("the slot's consistent point", async () => fx.lines.some((l) => l.includes("consistent point")));
    const point = parseLsn(/consistent point (\S+);/.exec(fx.lines.find((l) => l.includes("consistent point"))!)![1]!);
    expect(t3Lsn).toBeLessThan(point); // T3's changes sit below the consistent point: the case under test
    await sleep(500);
    await t3.query("COMMIT");
    for (const c of [t1, t2, t3]) await c.end();
    await attached;
    await projector;
    // A change during streaming, after the copy.
    await fx.pool.query(`UPDATE ${s}.items SET qty = -1 WHERE id = 7`);

    expect(fx.lines.join("\n")).toMatch(/snapshot copied: 4,828 rows/);
    expect(fx.lines.join("\n")).toMatch(/items: \d+ row\(s\) left out: .*in price \(/); // NaN has no Decimal: named
    // … and, like a refused streamed row, marks the table degraded until it is repaired.
    const marks = await fx.ch.query({
      query: "SELECT `table`, reason FROM sidecar._sidecar_table_health FINAL WHERE degraded = 1",
      format: "JSONEachRow",
    });
    expect(await marks.json()).toEqual([
      { table: `${s}__items`, reason: expect.stringMatching(/snapshot left out 272 row\(s\).*price/) },
    ]);
    const report = await fx.verify([
      { schema: s, table: "events" },
      { schema: s, table: "accounts" },
    ]);
    expect(report.ok, report.text).toBe(true);
    const rows = await fx.ch.query({
      query: `SELECT id, balance FROM sidecar.${s}__accounts FINAL WHERE _deleted = 0 AND id IN (1, 2, 3, 4, 1000) ORDER BY id`,
      format: "JSONEachRow",
    });
    expect(await rows.json()).toEqual([
      { id: 1, balance: 101 },
      { id: 2, balance: 102 },
      { id: 3, balance: 103 },
      { id: 1000, balance: 7 },
    ]);
    // items: every row but the NaN ones (refused, as the streaming path dead-letters them) is exact.
    const items = await fx.verify([{ schema: s, table: "items" }]);
    expect(items.text).toMatch(/missing in ClickHouse 272, extra in ClickHouse 0, different 0/);
  }, 300_000);

  it("attaching again over the earlier projection leaves no stale row", async () => {
    await detach({ pool: fx.pool, connect: fx.connect(), io: { out: () => undefined } }, fx.name);
    await fx.pool.query(`
      UPDATE ${s}.accounts SET balance = balance + 1 WHERE id <= 10;
      DELETE FROM ${s}.accounts WHERE id BETWEEN 11 AND 20;
      DELETE FROM ${s}.events WHERE id <= 100;
      UPDATE ${s}.items SET price = 1 WHERE price = 'NaN';`);
    fx.lines.length = 0;
    const tables = ["items", "events", "accounts"].map((table) => ({ schema: s, table }));
    await attach(fx.deps(), { name: fx.name, tables, stallMs: 120_000 });
    await fx.pool.query(`UPDATE ${s}.accounts SET balance = 5 WHERE id = 30`);
    const report = await fx.verify();
    expect(report.ok, report.text).toBe(true);
  }, 300_000);
});
