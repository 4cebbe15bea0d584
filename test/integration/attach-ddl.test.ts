import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addTables } from "../../src/attach/add-tables.js";
import { attach } from "../../src/attach/attach.js";
import { repairTable } from "../../src/attach/repair.js";
import { parseTableRef } from "../../src/attach/tables.js";
import { queryRows } from "../../src/clickhouse/client.js";
import { parseLsn } from "../../src/shared/lsn.js";
import { type AttachmentFixture, createAttachmentFixture } from "../helpers/attachment.js";

/**
 * Schema changes while streaming (issue 14), each with its documented outcome (docs/attach.md,
 * "Schema changes"), on the real stack. None stalls the pipeline; where ClickHouse cannot know
 * what Postgres filled in (a column added to a table with rows, a rename, a type change) the
 * table is marked degraded until `repair`, which verifies first and re-reads only when needed.
 */
describe("schema changes while streaming", () => {
  let fx: AttachmentFixture;
  let s = "";
  const target = (t: string) => `${s}__${t}`;

  beforeAll(async () => {
    fx = await createAttachmentFixture("dd", (id) => [`dd_${id}`], { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn" });
    s = `dd_${fx.id}`;
    await fx.pool.query(`
      CREATE SCHEMA ${s};
      CREATE TABLE ${s}.t (id int PRIMARY KEY, a int, b text, price numeric(6, 2), n int);
      INSERT INTO ${s}.t SELECT g, g, 'b' || g, g / 4.0, g FROM generate_series(1, 40) g;
      CREATE TABLE ${s}.p (id int, at date, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE ${s}.p_2025 PARTITION OF ${s}.p FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      INSERT INTO ${s}.p SELECT g, date '2025-01-01' + g, 'v' || g FROM generate_series(1, 30) g;
    `);
    await attach(fx.deps(), { name: fx.name, schema: s, wait: false });
    await fx.project();
    const report = await fx.verify();
    expect(report.ok, report.text).toBe(true);
  }, 300_000);

  afterAll(async () => {
    await fx?.close();
  }, 180_000);

  const caughtUp = async () => {
    const { rows } = await fx.pool.query<{ l: string }>("SELECT pg_current_wal_lsn()::text AS l");
    await fx.projector()?.waitForLsn(parseLsn(rows[0]?.l as string), 120_000);
  };
  const degradedReason = () =>
    fx
      .projector()
      ?.degraded()
      .find((d) => d.target === target("t"))?.reason;
  const columns = async (table: string) =>
    new Map(
      (
        await queryRows<{ name: string; type: string }>(
          fx.ch,
          "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}",
          { db: fx.config.CLICKHOUSE_DATABASE, t: target(table) },
        )
      ).map((c) => [c.name, c.type]),
    );
  const repair = () =>
    repairTable(
      {
        pool: fx.pool,
        kafka: fx.kafka,
        admin: fx.admin,
        config: fx.config,
        reader: { kind: "clickhouse", client: fx.ch, database: fx.config.CLICKHOUSE_DATABASE },
        out: (l) => fx.lines.push(l),
      },
      fx.name,
      parseTableRef(`${s}.t`),
      180_000,
    );
  const verifyT = async () => {
    const r = await fx.verify([{ schema: s, table: "t" }]);
    return { ok: r.ok, text: r.text };
  };

  it("ADD COLUMN without a default: projected as it comes; repair finds nothing to re-read", async () => {
    await fx.pool.query(`ALTER TABLE ${s}.t ADD COLUMN c text`);
    await fx.pool.query(`INSERT INTO ${s}.t (id, a, b, c) VALUES (100, 1, 'x', 'with c')`);
    await caughtUp();
    expect((await columns("t")).get("c")).toBe("Nullable(String)");
    expect(degradedReason()).toMatch(/added to the projection .*read c = /);
    const before = fx.lines.length;
    await repair();
    expect(fx.lines.slice(before).join("\n")).not.toMatch(/re-reading/); // identical: only the mark is cleared
    expect(degradedReason()).toBeUndefined();
  }, 300_000);

  it("ADD COLUMN with a default: earlier rows differ until repair re-reads the table", async () => {
    await fx.pool.query(`ALTER TABLE ${s}.t ADD COLUMN d int NOT NULL DEFAULT 7`);
    await fx.pool.query(`UPDATE ${s}.t SET a = -1 WHERE id = 1`);
    await caughtUp();
    expect(degradedReason()).toMatch(/rows stored before read d = 0 here/); // not NULL: d is NOT NULL
    expect((await verifyT()).ok).toBe(false);
    const before = fx.lines.length;
    await repair();
    expect(fx.lines.slice(before).join("\n")).toMatch(/re-reading/);
    const after = await verifyT();
    expect(after.ok, after.text).toBe(true);
    expect(degradedReason()).toBeUndefined();
  }, 300_000);

  it("DROP COLUMN: the ClickHouse column stays with its old values, new rows leave it empty; nothing to repair", async () => {
    await fx.pool.query(`ALTER TABLE ${s}.t DROP COLUMN a`);
    await fx.pool.query(`INSERT INTO ${s}.t (id, b) VALUES (101, 'after drop')`);
    await caughtUp();
    expect((await columns("t")).has("a")).toBe(true);
    expect(degradedReason()).toBeUndefined();
    const r = await verifyT();
    expect(r.ok, r.text).toBe(true);
  }, 300_000);

  it("RENAME COLUMN: the new name is a new column; repair fills it", async () => {
    await fx.pool.query(`ALTER TABLE ${s}.t RENAME COLUMN b TO label`);
    await fx.pool.query(`UPDATE ${s}.t SET label = 'renamed' WHERE id = 2`);
    await caughtUp();
    expect((await columns("t")).has("label")).toBe(true);
    expect(degradedReason()).toMatch(/read label = NULL/);
    await repair();
    const r = await verifyT();
    expect(r.ok, r.text).toBe(true);
  }, 300_000);

  it("ALTER COLUMN … TYPE: the ClickHouse column takes the new type before any value of it is written", async () => {
    await fx.pool.query(`ALTER TABLE ${s}.t ALTER COLUMN price TYPE numeric(12, 4), ALTER COLUMN n TYPE bigint`);
    await fx.pool.query(`UPDATE ${s}.t SET price = 12345678.1234, n = 9000000000 WHERE id = 3`);
    await caughtUp();
    const cols = await columns("t");
    expect(cols.get("price")).toBe("Nullable(Decimal(12, 4))");
    expect(cols.get("n")).toBe("Nullable(Int64)");
    const row = await queryRows<{ price: string; n: string }>(
      fx.ch,
      `SELECT toString(price) AS price, toString(n) AS n FROM ${fx.config.CLICKHOUSE_DATABASE}.${target("t")} FINAL WHERE id = 3`,
    );
    expect(row).toEqual([{ price: "12345678.1234", n: "9000000000" }]);
    expect(degradedReason()).toMatch(/type changed: .*price/);
    await repair();
    const r = await verifyT();
    expect(r.ok, r.text).toBe(true);
    expect(degradedReason()).toBeUndefined();
  }, 300_000);

  it("a new table in the attached schema is not captured until attach --add; a new partition is", async () => {
    await fx.pool.query(`CREATE TABLE ${s}.later (id int PRIMARY KEY, v text)`);
    await fx.pool.query(`INSERT INTO ${s}.later SELECT g, 'l' || g FROM generate_series(1, 10) g`);
    await fx.pool.query(
      `CREATE TABLE ${s}.p_2026 PARTITION OF ${s}.p FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`,
    );
    await fx.pool.query(`INSERT INTO ${s}.p VALUES (1000, '2026-05-01', 'new partition')`);
    await caughtUp();
    expect((await fx.admin.listTopics()).includes(fx.topic(s, "later"))).toBe(false);
    const p = await fx.verify([{ schema: s, table: "p" }]);
    expect(p.ok, p.text).toBe(true);
    await addTables(fx.deps(), { name: fx.name, tables: [{ schema: s, table: "later" }], stallMs: 120_000 });
    const all = await fx.verify();
    expect(all.ok, all.text).toBe(true);
  }, 300_000);
});
