import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectClient } from "../../src/connect/connect-client.js";
import { sendControl } from "../../src/shared/control.js";
import { createKafka } from "../../src/shared/kafka.js";
import { stackEnv } from "../helpers/stack.js";
import { cli, makeUp, ROOT, runCli, stackTokens } from "../helpers/user-stack.js";

/**
 * attach as a user runs it: the CLI as its own process against the stack `make up` started (the
 * sidecar's roles in their own process hold the embedded ClickHouse, so the copy runs there,
 * asked over the control topic), data checked by the CLI's own `verify` through the read API.
 */
const native = (process.env.TEST_STACK ?? "native") === "native";
const env = stackEnv();
const run = promisify(execFile);
const PG = "postgres://postgres:postgres@127.0.0.1:55432";
const DB = "attach_cli";
const url = `${PG}/${DB}`;
const id = randomBytes(2).toString("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(native)("attach through the CLI, against the stack make up started", () => {
  let pool: pg.Pool;
  const connect = new ConnectClient(env.KAFKA_CONNECT_URL);
  const attached = new Set<string>();

  const attach = (name: string, args: string[], opts: Parameters<typeof cli>[1] = {}) => {
    attached.add(name);
    return cli(["attach", "--database-url", url, "--name", name, ...args], { timeoutMs: 600_000, ...opts });
  };
  const verify = (name: string, tables: string[] = []) =>
    runCli([
      "verify",
      "--database-url",
      url,
      "--name",
      name,
      "--wait",
      "120",
      ...(tables.length ? ["--tables", tables.join(",")] : []),
    ]);
  /** What an attachment leaves in Postgres and Kafka Connect. */
  const leftovers = async (name: string) => ({
    slot: (await pool.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [`sidecar_attach_${name}`]))
      .rowCount,
    publication: (await pool.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [`sidecar_attach_${name}`]))
      .rowCount,
    connector: (await connect.status(`attach_${name}`)) !== undefined,
  });

  beforeAll(async () => {
    await makeUp();
    const admin = new pg.Client({ connectionString: `${PG}/postgres` });
    await admin.connect();
    if ((await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB])).rowCount) {
      // An interrupted earlier run: its attachments first (their slots live in that database).
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      const { rows } = await db.query<{ slot_name: string }>(
        "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'sidecar_attach_%' AND database = $1",
        [DB],
      );
      await db.end();
      for (const r of rows) await runCli(["detach", "--database-url", url, "--name", r.slot_name.slice(15)]);
      await admin.query(`DROP DATABASE ${DB} WITH (FORCE)`);
    }
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.end();
    pool = new pg.Pool({ connectionString: url, max: 2 });
  }, 900_000);

  afterAll(async () => {
    for (const name of attached)
      await runCli(["detach", "--database-url", url, "--name", name, "--drop-data", "--yes"]);
    await pool?.end();
    const admin = new pg.Client({ connectionString: `${PG}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.end();
  }, 600_000);

  it("a database of 60 tables, every column type of a small shop, NULLs included", async () => {
    const schema = `wide_${id}`;
    await pool.query(`CREATE SCHEMA ${schema}`);
    for (let i = 0; i < 60; i++) {
      await pool.query(
        `CREATE TABLE ${schema}.t${i} (id int PRIMARY KEY, label text, amount numeric(12,2), price numeric, at timestamptz, day date, flags bool[], doc jsonb, ratio float8);
         INSERT INTO ${schema}.t${i} SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'row ' || g END, g * 1.25, CASE WHEN g % 5 = 0 THEN NULL ELSE g / 3.0 END,
           CASE WHEN g % 3 = 0 THEN NULL ELSE timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute' END, date '1950-01-01' + g,
           ARRAY[g % 2 = 0, NULL], jsonb_build_object('g', g), CASE WHEN g % 4 = 0 THEN NULL ELSE g / 7.0 END
         FROM generate_series(1, ${20 + i}) g`,
      );
    }
    const r = await attach("wide", ["--schema", schema]).done;
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/snapshot copied: 2,970 rows/);
    expect(r.out).not.toMatch(/Code: \d+|Exception|^error/m);
    const v = await verify("wide");
    expect(v.code, v.out).toBe(0);
    expect(v.out).toMatch(/verify: 60 table\(s\) identical/);
    // A float -0 streamed reads back as -0 (JSON.stringify wrote it as 0 on its way to ClickHouse).
    await pool.query(`UPDATE ${schema}.t0 SET ratio = '-0' WHERE id = 1`);
    expect((await verify("wide")).code).toBe(0);
    const res = await fetch(`http://127.0.0.1:3001/api/tables/${schema}__t0/rows?filter=id:eq:1`, {
      headers: { Authorization: `Bearer ${stackTokens().READ_API_TOKEN}` },
    });
    expect(await res.text()).toMatch(/"ratio":-0[,}]/);
  }, 600_000);

  it("two attaches started at the same moment both complete", async () => {
    for (const s of [`pair_a_${id}`, `pair_b_${id}`]) {
      await pool.query(
        `CREATE SCHEMA ${s}; CREATE TABLE ${s}.items (id bigint PRIMARY KEY, v text);
         INSERT INTO ${s}.items SELECT g, md5(g::text) FROM generate_series(1, 20000) g`,
      );
    }
    const [a, b] = await Promise.all([
      attach("pair_a", ["--schema", `pair_a_${id}`]).done,
      attach("pair_b", ["--schema", `pair_b_${id}`]).done,
    ]);
    expect(a.code, a.out).toBe(0);
    expect(b.code, b.out).toBe(0);
    for (const name of ["pair_a", "pair_b"]) {
      const v = await verify(name);
      expect(v.code, v.out).toBe(0);
    }
  }, 600_000);

  it("tables without a primary key: keyed by a replica identity or unique index, the rest left out with --keyless skip", async () => {
    const s = `nokey_${id}`;
    await pool.query(
      `CREATE SCHEMA ${s};
       CREATE TABLE ${s}.by_identity (code text NOT NULL, region int NOT NULL, qty int);
       CREATE UNIQUE INDEX by_identity_key ON ${s}.by_identity (code, region);
       ALTER TABLE ${s}.by_identity REPLICA IDENTITY USING INDEX by_identity_key;
       CREATE TABLE ${s}.full_unique (sku text NOT NULL UNIQUE, qty int) ;
       ALTER TABLE ${s}.full_unique REPLICA IDENTITY FULL;
       CREATE TABLE ${s}.full_bare (note text, qty int);
       ALTER TABLE ${s}.full_bare REPLICA IDENTITY FULL;
       CREATE TABLE ${s}.unique_default (sku text NOT NULL UNIQUE, qty int);
       INSERT INTO ${s}.by_identity SELECT 'c' || (g % 50), g / 50, g FROM generate_series(1, 500) g;
       INSERT INTO ${s}.full_unique SELECT 'sku' || g, g FROM generate_series(1, 300) g;
       INSERT INTO ${s}.full_bare SELECT 'n' || g, g FROM generate_series(1, 100) g;
       INSERT INTO ${s}.unique_default SELECT 'sku' || g, g FROM generate_series(1, 100) g;`,
    );
    const check = await runCli(["attach", "--database-url", url, "--name", "nokey", "--schema", s, "--check"]);
    expect(check.code).toBe(1);
    expect(check.out).toMatch(/by_identity by its replica identity index by_identity_key \(code, region\)/);
    expect(check.out).toMatch(/full_unique by its unique index full_unique_sku_key \(sku\)/);
    expect(check.out).toMatch(
      /FAIL\s+no key the projection can use: .*full_bare.*unique_default|FAIL\s+no key the projection can use: .*unique_default.*full_bare/,
    );
    expect(check.out).toMatch(/REPLICA IDENTITY USING INDEX "unique_default_sku_key"/);
    expect(check.out).toMatch(/full_bare: no primary key and no unique index on NOT NULL columns/);

    const full = await runCli(["attach", "--database-url", url, "--name", "nokey", "--schema", s, "--keyless", "full"]);
    expect(full.code).toBe(1);
    expect(full.out).toMatch(/--keyless full cannot make nokey_\w+\.full_bare projectable/);
    expect(await leftovers("nokey")).toEqual({ slot: 0, publication: 0, connector: false });

    const r = await attach("nokey", ["--schema", s, "--keyless", "skip"]).done;
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/leaving out \(no key\): .*full_bare/);
    expect(r.out).toMatch(/snapshot copied: 800 rows/);
    await pool.query(`UPDATE ${s}.by_identity SET qty = -qty WHERE region = 3`);
    await pool.query(`DELETE FROM ${s}.by_identity WHERE region = 4`);
    await pool.query(`UPDATE ${s}.full_unique SET qty = 0 WHERE qty % 3 = 0`);
    await pool.query(`DELETE FROM ${s}.full_unique WHERE qty % 7 = 0`);
    const v = await verify("nokey");
    expect(v.code, v.out).toBe(0);
    expect(v.out).toMatch(/verify: 2 table\(s\) identical/);
  }, 600_000);

  it("repair after verify could not read the projected table: re-read, verified, mark cleared", async () => {
    const s = `rep_${id}`;
    await pool.query(
      `CREATE SCHEMA ${s}; CREATE TABLE ${s}.t (id int PRIMARY KEY, v text);
       INSERT INTO ${s}.t SELECT g, 'v' || g FROM generate_series(1, 300) g`,
    );
    expect((await attach("rep", ["--schema", s]).done).code).toBe(0);
    // The projected table goes (as by hand): verify cannot read it, and repair must still write its signal.
    const kafka = createKafka(env.KAFKA_BROKERS.split(","), "test-attach-cli");
    const dropped = await sendControl(kafka, "sidecar", { op: "drop-tables", targets: [`${s}__t`] });
    expect(dropped.ok, dropped.detail).toBe(true);
    const r = await runCli(["repair", "--database-url", url, "--name", "rep", "--table", `${s}.t`], {
      timeoutMs: 600_000,
    });
    expect(r.out).not.toMatch(/read-only transaction/);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/repaired/);
    expect((await verify("rep")).code).toBe(0);
  }, 600_000);

  it("detach --drop-data, then attach again: a table Debezium snapshots is not taken for one dropped by hand", async () => {
    const s = `again_${id}`;
    await pool.query(
      `CREATE SCHEMA ${s}; CREATE TABLE ${s}.fees (id int PRIMARY KEY, fee money, at timetz);
       INSERT INTO ${s}.fees SELECT g, g * 1.5, time with time zone '12:00+02' FROM generate_series(1, 200) g`,
    );
    const first = await attach("again", ["--schema", s]).done;
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/snapshotted by Debezium/);
    const d = await runCli(["detach", "--database-url", url, "--name", "again", "--drop-data", "--yes"]);
    expect(d.code, d.out).toBe(0);
    expect(d.out).toMatch(/dropped ClickHouse tables/);
    const second = await attach("again", ["--schema", s]).done;
    expect(second.code, second.out).toBe(0);
    expect((await verify("again")).code).toBe(0);
    const ready = (await (await fetch("http://127.0.0.1:9464/ready")).json()) as { degraded: { table: string }[] };
    expect(ready.degraded.map((x) => x.table)).not.toContain(`${s}__fees`);
  }, 600_000);

  describe("one table of 1,000,000 rows", () => {
    const schema = `big_${id}`;
    beforeAll(async () => {
      await pool.query(
        `CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.events (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(14,2), at timestamptz, note text);
         INSERT INTO ${schema}.events SELECT g, g % 5000, (g % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
           CASE WHEN g % 10 = 0 THEN NULL ELSE 'event ' || g END FROM generate_series(1, 1000000) g`,
      );
    }, 300_000);

    it("attached twice at once, the second is told; killed (SIGKILL) in the middle of its copy and run again, it starts over and is exact", async () => {
      let killAt = 0;
      let ended = false;
      const first = attach("big", ["--schema", schema], {
        onOutput: (all) => {
          if (!killAt && /copying/.test(all)) killAt = Date.now();
        },
      });
      void first.done.then(() => {
        ended = true;
      });
      while (!ended && !killAt) await sleep(100);
      // The same attachment attached again meanwhile: told, and the first one is left alone.
      const second = await attach("big", ["--schema", schema]).done;
      expect(second.code, second.out).toBe(1);
      expect(second.out).toMatch(/another attach or detach of big is running/);
      expect(ended, "the first attach ended before the second reached its lock").toBe(false);
      first.kill("SIGKILL");
      const killed = await first.done;
      expect(killed.signal ?? killed.code, killed.out).not.toBe(0);
      expect(killed.out).not.toMatch(/snapshot copied/);
      // The writer goes on while nobody attaches: a change made now must not be lost either.
      await pool.query(`UPDATE ${schema}.events SET note = 'changed after the kill' WHERE id % 1000 = 1`);
      await pool.query(`DELETE FROM ${schema}.events WHERE id % 1000 = 2`);

      const again = await attach("big", ["--schema", schema]).done;
      expect(again.code, again.out).toBe(0);
      expect(again.out).toMatch(/an earlier attach of big stopped before its copy finished: starting it over/);
      expect(again.out).toMatch(/snapshot copied: 999,000 rows/);
      const v = await verify("big");
      expect(v.code, v.out).toBe(0);
      expect(v.out).toMatch(/999,000 rows/);
    }, 900_000);

    it("attach --add copies the new table while both stream; transactions open across the copy's slot position are neither lost nor beaten by the copy", async () => {
      await pool.query(
        `CREATE TABLE ${schema}.accounts (id int PRIMARY KEY, name text, opened date);
         INSERT INTO ${schema}.accounts SELECT g, 'account ' || g, date '2000-01-01' + g FROM generate_series(1, 20000) g`,
      );
      // Wrote before the temporary slot exists: Postgres makes the slot wait for it, so the copy holds it.
      // Sessions of their own: the pool (2 connections) serves the writes meanwhile.
      const session = async () => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        return c;
      };
      const before = await session();
      await before.query("BEGIN");
      await before.query(`UPDATE ${schema}.accounts SET name = 'open across the slot' WHERE id = 5`);
      // Writes after the slot exists and commits during the copy: streamed, and newer than the copied row.
      const after = await session();
      let stopWrites = false;
      const writes = (async () => {
        for (let i = 0; !stopWrites; i++) {
          await pool.query(`UPDATE ${schema}.events SET amount = amount + 1 WHERE id = $1`, [(i % 50) + 10]);
          await pool.query(`UPDATE ${schema}.accounts SET name = name || '+' WHERE id = $1`, [(i % 50) + 100]);
          await sleep(50);
        }
      })();
      const steps: Promise<unknown>[] = [];
      const r = await attach("big", ["--add", `${schema}.accounts`], {
        onOutput: (all) => {
          if (steps.length === 0 && /RUNNING again/.test(all))
            steps.push(sleep(1500).then(() => before.query("COMMIT")));
          if (steps.length === 1 && /temporary slot \S+ created/.test(all))
            steps.push(
              after
                .query("BEGIN")
                .then(() => after.query(`UPDATE ${schema}.accounts SET name = 'after the slot' WHERE id = 6`))
                .then(() => sleep(300))
                .then(() => after.query("COMMIT")),
            );
        },
      }).done;
      stopWrites = true;
      await Promise.all([writes, ...steps]);
      await before.end();
      await after.end();
      expect(r.code, r.out).toBe(0);
      expect(steps).toHaveLength(2);
      expect(r.out).toMatch(/temporary slot sidecar_attach_big_add created/);
      expect(r.out).toMatch(/snapshot copied: 20,000 rows/);
      expect(r.out).not.toMatch(/incremental snapshot/);
      // verify waits for the projection to pass the source's position, so the read API holds
      // every streamed change of events after it (the whole 1M-row table was verified above).
      const v = await verify("big", [`${schema}.accounts`]);
      expect(v.code, v.out).toBe(0);
      expect(v.out).toMatch(/verify: 1 table\(s\) identical/);
      const streamed = await pool.query<{ id: string; amount: string }>(
        `SELECT id::text, amount::text FROM ${schema}.events WHERE id BETWEEN 10 AND 59 ORDER BY id`,
      );
      const projected = await fetch(
        `http://127.0.0.1:3001/api/tables/${schema}__events/rows?columns=id,amount&filter=id:gte:10&filter=id:lte:59&order=id`,
        { headers: { Authorization: `Bearer ${stackTokens().READ_API_TOKEN}` } },
      );
      const events = ((await projected.json()) as { data: { id: unknown; amount: unknown }[] }).data;
      expect(events.map((e) => [String(e.id), Number(e.amount)])).toEqual(
        streamed.rows.map((e) => [e.id, Number(e.amount)]),
      );
      const res = await fetch(
        `http://127.0.0.1:3001/api/tables/${schema}__accounts/rows?columns=id,name&filter=id:gte:5&filter=id:lte:6&order=id`,
        { headers: { Authorization: `Bearer ${stackTokens().READ_API_TOKEN}` } },
      );
      const rows = ((await res.json()) as { data: unknown[] }).data;
      expect(rows).toEqual([
        { id: 5, name: "open across the slot" },
        { id: 6, name: "after the slot" },
      ]);
      const slots = await pool.query("SELECT 1 FROM pg_replication_slots WHERE slot_name LIKE '%\\_add'");
      expect(slots.rowCount).toBe(0);
    }, 600_000);

    it("attach --add killed in the middle of its copy: the next --add copies the table again", async () => {
      await pool.query(
        `CREATE TABLE ${schema}.ledger (id bigint PRIMARY KEY, v text);
         INSERT INTO ${schema}.ledger SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 400000) g`,
      );
      let copying = false;
      const first = attach("big", ["--add", `${schema}.ledger`], {
        onOutput: (all) => {
          if (copying || !/temporary slot \S+ created/.test(all)) return;
          copying = true;
          setTimeout(() => first.kill("SIGKILL"), 500);
        },
      });
      const killed = await first.done;
      expect(killed.signal, killed.out).toBe("SIGKILL");
      expect(killed.out).not.toMatch(/snapshot copied/);
      await pool.query(`DELETE FROM ${schema}.ledger WHERE id % 100 = 7`);
      const again = await runCli(["attach", "--database-url", url, "--name", "big", "--add", `${schema}.ledger`], {
        timeoutMs: 600_000,
      });
      expect(again.code, again.out).toBe(0);
      expect(again.out).toMatch(/an earlier attach --add of \S+ledger stopped before its copy finished: copying again/);
      expect(again.out).toMatch(/snapshot copied: 396,000 rows/);
      const v = await verify("big", [`${schema}.ledger`]); // the other tables were verified just before
      expect(v.code, v.out).toBe(0);
      expect(v.out).toMatch(/verify: 1 table\(s\) identical/);
    }, 900_000);
  });

  describe("while the sidecar is stopped", () => {
    afterAll(() => makeUp(), 600_000);

    it("attach says what to start and changes nothing; after make up it works", async () => {
      await pool.query(
        `CREATE SCHEMA idle_${id}; CREATE TABLE idle_${id}.notes (id int PRIMARY KEY, body text);
         INSERT INTO idle_${id}.notes SELECT g, 'note ' || g FROM generate_series(1, 500) g`,
      );
      await run("bash", ["stack/stack.sh", "stop", "app"], { cwd: ROOT });
      const r = await attach("idle", ["--schema", `idle_${id}`]).done;
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/the sidecar is not running .*make up.*Nothing was changed/);
      expect(await leftovers("idle")).toEqual({ slot: 0, publication: 0, connector: false });

      await makeUp();
      const ok = await attach("idle", ["--schema", `idle_${id}`]).done;
      expect(ok.code, ok.out).toBe(0);
      expect((await verify("idle")).code).toBe(0);
    }, 600_000);

    it("Kafka's retention deleted events the stopped projector never applied: the table is marked degraded, verify shows the loss, repair re-reads it", async () => {
      const s = `kept_${id}`;
      await pool.query(
        `CREATE SCHEMA ${s}; CREATE TABLE ${s}.t (id int PRIMARY KEY, v text);
         INSERT INTO ${s}.t SELECT g, 'v' || g FROM generate_series(1, 200) g`,
      );
      expect((await attach("kept", ["--schema", s]).done).code).toBe(0);
      await pool.query(`UPDATE ${s}.t SET v = 'streamed' WHERE id <= 10`);
      expect((await verify("kept")).code).toBe(0);
      const kafka = createKafka(env.KAFKA_BROKERS.split(","), "test-attach-cli-retention");
      const admin = kafka.admin();
      await admin.connect();
      try {
        const topic = `sidecar.${s}.t`;
        const high = async () => (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
        const before = await high();
        await run("bash", ["stack/stack.sh", "stop", "app"], { cwd: ROOT });
        await pool.query(`UPDATE ${s}.t SET v = 'never projected' WHERE id > 100`);
        await pool.query(`DELETE FROM ${s}.t WHERE id <= 5`);
        // 100 updates and 5 deletes (with their tombstones) on the topic, and nothing more coming.
        let seen = before;
        for (let i = 0; i < 240; i++, await sleep(500)) {
          const now = await high();
          if (now >= before + 105 && now === seen) break;
          seen = now;
        }
        expect(seen).toBeGreaterThanOrEqual(before + 105);
        // Retention passes: every message up to the high watermark is gone before the projector returns.
        const offsets = await admin.fetchTopicOffsets(topic);
        await admin.deleteTopicRecords({
          topic,
          partitions: offsets.map((p) => ({ partition: p.partition, offset: p.high })),
        });
        await makeUp();
        type Ready = { degraded: { table: string; reason: string }[] };
        const ready = async () => (await (await fetch("http://127.0.0.1:9464/ready")).json()) as Ready;
        let mark: Ready["degraded"][number] | undefined;
        for (let i = 0; i < 120 && !mark; i++, await sleep(500))
          mark = (await ready()).degraded.find((d) => d.table === `${s}__t`);
        expect(mark?.reason).toMatch(/deleted by Kafka's retention before they were projected.*repair --table/);
        const lost = await verify("kept");
        expect(lost.code, lost.out).toBe(1);
        expect(lost.out).toMatch(/different 95|extra in ClickHouse 5/);
        // A partition retention emptied does not hold the watermark back: verify did not wait it out.
        expect(lost.out).not.toMatch(/did not reach the source's LSN/);
        const r = await runCli(["repair", "--database-url", url, "--name", "kept", "--table", `${s}.t`], {
          timeoutMs: 600_000,
        });
        expect(r.code, r.out).toBe(0);
        expect((await verify("kept")).code).toBe(0);
        expect((await ready()).degraded.map((d) => d.table)).not.toContain(`${s}__t`);
      } finally {
        await admin.disconnect();
      }
    }, 600_000);

    it("the sidecar stopped in the middle of the copy: attach fails with why, and leaves no slot, publication or connector", async () => {
      await pool.query(
        `CREATE SCHEMA gone_${id}; CREATE TABLE gone_${id}.rows (id bigint PRIMARY KEY, v text);
         INSERT INTO gone_${id}.rows SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 600000) g`,
      );
      let stopping: Promise<unknown> | undefined;
      const r = await attach("gone", ["--schema", `gone_${id}`], {
        onOutput: (all) => {
          if (!stopping && /copying/.test(all))
            stopping = sleep(500).then(() => run("bash", ["stack/stack.sh", "stop", "app"], { cwd: ROOT }));
        },
      }).done;
      await stopping;
      expect(r.code, r.out).toBe(1);
      expect(r.out).toMatch(/stopped reporting progress|did not answer/);
      expect(r.out).toMatch(/attach failed; undone/);
      expect(await leftovers("gone")).toEqual({ slot: 0, publication: 0, connector: false });
    }, 600_000);
  });
});
