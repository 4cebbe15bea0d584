import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropProjectedTables } from "../../src/attach/drop-data.js";
import { tableName } from "../../src/attach/tables.js";
import { formatVerifyReport } from "../../src/attach/verify.js";
import { binlogVersion } from "../../src/cdc/binlog-version.js";
import { openClickHouse, queryRows } from "../../src/clickhouse/client.js";
import { addMysqlTables, detachMysql } from "../../src/mysql/attach.js";
import { binlogReaders, currentBinlog, projectedToEnd } from "../../src/mysql/binlog.js";
import { repairMysqlTable } from "../../src/mysql/repair.js";
import { verifyMysqlTables } from "../../src/mysql/verify.js";
import type { Projector } from "../../src/projector/projector.js";
import type { FreshnessBlock } from "../../src/read/freshness.js";
import { progressTableFreshness, projectorFreshness } from "../../src/read/progress.js";
import { createMysqlFixture, type MysqlFixture } from "../helpers/mariadb.js";
import { readApp } from "../helpers/read-fixture.js";

/**
 * Streaming from MariaDB on the real stack: the version rule (multi-row events, several events in
 * one transaction, a binlog rotation, a full replay), DDL while streaming, the connector and the
 * projector killed during a load, and detach leaving no binlog reader.
 */
describe("MySQL/MariaDB streaming: versions, DDL, crashes, detach", () => {
  let fx: MysqlFixture;
  const children: ChildProcess[] = [];
  const chdbDirs: string[] = [];
  /** The server's binlog readers before this attachment (other attachments may share the server). */
  let readersBefore: number[] = [];
  const finalRow = async (table: string, id: number) =>
    (
      await queryRows<Record<string, unknown>>(
        fx.ch,
        `SELECT *, toString(_version) AS v FROM sidecar.${fx.db}__${table} FINAL WHERE id = {id:Int32}`,
        { id },
      )
    )[0];

  const repairDeps = () => ({
    ...fx.deps(),
    kafka: fx.kafka,
    reader: { kind: "clickhouse" as const, client: fx.ch, database: "sidecar" },
  });

  beforeAll(async () => {
    fx = await createMysqlFixture("mst");
    await fx.sql(`CREATE TABLE ${fx.db}.v (id INT PRIMARY KEY, n INT NOT NULL, s VARCHAR(20))`);
    await fx.sql(`CREATE TABLE ${fx.db}.load (id INT PRIMARY KEY, n INT NOT NULL, pad VARCHAR(100))`);
    await fx.sql(`INSERT INTO ${fx.db}.v VALUES (100, 0, 'snapshot')`);
    readersBefore = await binlogReaders(fx.pool);
    await fx.attach(["v", "load"]);
  }, 180_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await fx?.close();
    for (const d of chdbDirs) rmSync(d, { recursive: true, force: true });
  }, 180_000);

  it("the newest change wins: rows of one event, events of one transaction, across a binlog rotation, after a full replay", async () => {
    const conn = await fx.pool.getConnection();
    await conn.query("BEGIN");
    await conn.query(`INSERT INTO ${fx.db}.v VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 1, 'c')`);
    await conn.query(`UPDATE ${fx.db}.v SET n = n + 1, s = CONCAT(s, '2')`);
    await conn.query(`UPDATE ${fx.db}.v SET n = 10 WHERE id = 1`);
    await conn.query(`DELETE FROM ${fx.db}.v WHERE id = 3`);
    await conn.query("COMMIT");
    conn.release();
    await fx.expectClean("one transaction of several multi-row events");
    const before = await finalRow("v", 1);
    await fx.sql("FLUSH BINARY LOGS");
    const rotated = await currentBinlog(fx.pool);
    await fx.sql(`UPDATE ${fx.db}.v SET n = 11 WHERE id = 1`);
    await fx.expectClean("an update in the next binlog file");
    const after = await finalRow("v", 1);
    expect(after?.n).toBe(11);
    expect(BigInt(after?.v as string) > BigInt(before?.v as string)).toBe(true);
    expect(BigInt(after?.v as string) >> 32n).toBe(binlogVersion({ file: rotated.file, pos: 0, row: 0 }) >> 32n);

    // Every event again, from the start of the topic: older rows land once more and lose to newer ones.
    await fx.stopProjector();
    await fx.admin.resetOffsets({ groupId: fx.config.PROJECTOR_GROUP, topic: fx.topic("v"), earliest: true });
    await fx.startProjector();
    await fx.waitFor("the replay", () => projectedToEnd(fx.admin, fx.config.PROJECTOR_GROUP, [fx.topic("v")]));
    const [{ all } = { all: "0" }] = await queryRows<{ all: string }>(
      fx.ch,
      `SELECT toString(count()) AS all FROM sidecar.${fx.db}__v`,
    );
    expect(Number(all)).toBeGreaterThan(4); // the replayed rows are there, FINAL hides them
    const report = await fx.expectClean("a full replay");
    expect(report.tables.find((t) => t.table.endsWith(".v"))?.postgresRows).toBe(3);
  }, 240_000);

  it("DDL while streaming: ADD, DROP and RENAME COLUMN, and a new table added", async () => {
    await fx.sql(`ALTER TABLE ${fx.db}.v ADD COLUMN extra VARCHAR(10) NULL`);
    await fx.sql(`INSERT INTO ${fx.db}.v (id, n, s, extra) VALUES (4, 4, 'd', 'added')`);
    await fx.expectClean("ADD COLUMN");
    // A new column marks the table degraded (earlier rows may differ); repair finds it identical.
    await repairMysqlTable(repairDeps(), fx.name, fx.ref("v"));
    expect(fx.lines.at(-1)).toMatch(/repaired: .*cleared/);
    await fx.sql(`ALTER TABLE ${fx.db}.v DROP COLUMN extra`);
    await fx.sql(`INSERT INTO ${fx.db}.v (id, n, s) VALUES (5, 5, 'e')`);
    await fx.expectClean("DROP COLUMN");
    await fx.sql(`ALTER TABLE ${fx.db}.v RENAME COLUMN s TO label`);
    await fx.sql(`UPDATE ${fx.db}.v SET n = n + 1`);
    await fx.expectClean("RENAME COLUMN, then every row updated");
    // A column with a default: MySQL fills earlier rows, the projection cannot; repair re-reads the table.
    await fx.sql(`ALTER TABLE ${fx.db}.v ADD COLUMN dflt INT NOT NULL DEFAULT 7`);
    await fx.sql(`INSERT INTO ${fx.db}.v (id, n, label) VALUES (6, 6, 'f')`);
    const stale = await fx.verify(["v"]);
    expect(stale.tables[0]?.different).toBeGreaterThan(0);
    await repairMysqlTable(repairDeps(), fx.name, fx.ref("v"));
    expect(fx.lines.join("\n")).toMatch(/re-reading .*\.v in place/);
    await fx.expectClean("ADD COLUMN with a default, repaired");
    await fx.sql(`CREATE TABLE ${fx.db}.fresh (id INT PRIMARY KEY, t TEXT)`);
    await fx.sql(`INSERT INTO ${fx.db}.fresh VALUES (1, 'created while streaming')`);
    await addMysqlTables(fx.deps(), { name: fx.name, tables: [fx.ref("fresh")], stallMs: 120_000 });
    await fx.sql(`INSERT INTO ${fx.db}.fresh VALUES (2, 'after --add')`);
    const report = await fx.expectClean("a new table added");
    expect(report.tables.find((t) => t.table.endsWith(".fresh"))?.clickhouseRows).toBe(2);
  }, 240_000);

  it("the freshness block of a MariaDB table shows its own lag: fresh while the server is idle, growing while the connector is stopped", async () => {
    const target = `${fx.db}__v`;
    const token = "mst-read-token";
    // The read API as its own process sees it (the progress table), and in this process (the projector).
    const separate = readApp(fx.ch, "sidecar", progressTableFreshness(fx.ch, "sidecar", { pollMs: 0 }), token);
    const inProcess = readApp(fx.ch, "sidecar", projectorFreshness(fx.projector() as Projector), token);
    const freshness = async (app: typeof separate) => {
      const res = await app.request(`/api/tables/${target}/count`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { freshness: FreshnessBlock }).freshness;
    };
    const lagBelow = (ms: number) => async () => {
      const [a, b] = [await freshness(separate), await freshness(inProcess)];
      return a.lagMs !== null && a.lagMs < ms && b.lagMs !== null && b.lagMs < ms;
    };
    // No write for a while: the connector's beats still date the binlog.
    await new Promise((r) => setTimeout(r, 5_000));
    await fx.waitFor("a fresh time on an idle server", lagBelow(4_000), 30_000);
    const idle = await freshness(separate);
    expect(idle.lsn).toBeNull(); // this topic prefix captures no Postgres database: no WAL position
    expect(Date.parse(idle.commitTime as string)).toBeGreaterThan(Date.now() - 4_000);
    // The connector stopped: nothing new reaches Kafka, and the lag grows with the clock.
    const connector = `attach_${fx.name}`;
    await fx.deps().connect.stop(connector);
    try {
      await new Promise((r) => setTimeout(r, 8_000));
      for (const app of [separate, inProcess]) expect((await freshness(app)).lagMs).toBeGreaterThan(7_000);
    } finally {
      await fx.deps().connect.resume(connector);
    }
    await fx.waitFor("the lag to fall after the connector resumed", lagBelow(4_000), 60_000);
  }, 120_000);

  it("the connector and the projector killed during a load, then restarted: nothing lost, nothing duplicated", async () => {
    await fx.stopProjector();
    const dir = mkdtempSync(join(tmpdir(), "mst-crash-"));
    chdbDirs.push(dir);
    const group = `${fx.config.PROJECTOR_GROUP}-crash`;
    const startChild = () => {
      const proc = spawn(process.execPath, ["--import", "tsx", "test/fixtures/projector-child.ts"], {
        env: {
          ...process.env,
          KAFKA_BROKERS: fx.config.KAFKA_BROKERS.join(","),
          CLICKHOUSE_URL: `chdb:${dir}`,
          CLICKHOUSE_DATABASE: "sidecar",
          TOPIC_PREFIX: fx.config.TOPIC_PREFIX,
          PROJECTOR_GROUP: group,
          DLQ_TOPIC: `${fx.config.TOPIC_PREFIX}.crash-dlq`,
          PROJECTOR_MAX_BATCH_BYTES: String(256 * 1024),
          LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "ignore", "inherit"],
      });
      children.push(proc);
      return proc;
    };
    let child = startChild();
    const connector = `attach_${fx.name}`;
    const load = (async () => {
      for (let b = 0; b < 100; b++) {
        const rows = Array.from({ length: 200 }, (_, i) => `(${b * 200 + i}, ${b}, REPEAT('x', 50))`).join(",");
        await fx.sql(`INSERT INTO ${fx.db}.load VALUES ${rows}`);
        await fx.sql(`UPDATE ${fx.db}.load SET n = n + 1000 WHERE id % 7 = 0 AND id >= ?`, [Math.max(0, b - 2) * 200]);
        if (b % 10 === 0) await fx.sql(`DELETE FROM ${fx.db}.load WHERE id = ?`, [b * 200 + 1]);
      }
    })();
    await new Promise((r) => setTimeout(r, 3_000));
    child.kill("SIGKILL");
    // The connector's task killed mid-stream: Connect restarts it from its last committed offset.
    await fetch(`${fx.config.KAFKA_CONNECT_URL}/connectors/${connector}/restart?includeTasks=true&onlyFailed=false`, {
      method: "POST",
    });
    await new Promise((r) => setTimeout(r, 2_000));
    child = startChild();
    await load;
    await fx.deps().connect.waitRunning(connector, 120_000);
    const { waitForBinlog } = await import("../../src/mysql/binlog.js");
    const waited = await waitForBinlog(
      { ...fx.deps(), connectUrl: fx.config.KAFKA_CONNECT_URL, groupId: group },
      connector,
      [fx.topic("load")],
      180_000,
    );
    expect(waited.reached).toBe(true);
    child.kill("SIGTERM");
    await new Promise<void>((r) => (child.exitCode !== null ? r() : child.on("exit", () => r())));
    // One chDB data directory per process: the fixture's is closed for the crash projector's.
    await fx.ch.close();
    const ch = await openClickHouse(`chdb:${dir}`);
    try {
      const report = await verifyMysqlTables(fx.pool, { kind: "clickhouse", client: ch, database: "sidecar" }, [
        fx.ref("load"),
      ]);
      expect(report.ok, formatVerifyReport(report)).toBe(true);
      const [{ n } = { n: "0" }] = await queryRows<{ n: string }>(
        ch,
        `SELECT toString(count()) AS n FROM sidecar.${fx.db}__load FINAL WHERE _deleted = 0`,
      );
      expect(Number(n)).toBe(20_000 - 10);
    } finally {
      await ch.close();
    }
  }, 300_000);

  it("detach removes the connector, its topics and schema history, and leaves no binlog reader", async () => {
    const ours = (await binlogReaders(fx.pool)).filter((id) => !readersBefore.includes(id));
    expect(ours.length).toBe(1);
    const detached = await detachMysql(fx.deps(), fx.name);
    expect(await fx.deps().connect.status(`attach_${fx.name}`)).toBeUndefined();
    const topics = await fx.admin.listTopics();
    expect(topics).not.toContain(fx.topic("v"));
    expect(topics).not.toContain(`${fx.config.TOPIC_PREFIX}.__schema_history_attach_${fx.name}`);
    const left = await binlogReaders(fx.pool);
    expect(left.filter((id) => ours.includes(id))).toEqual([]);
    expect(left.every((id) => readersBefore.includes(id))).toBe(true);
    // detach --drop-data: the tables it returns are the attachment's, and their projections go.
    expect(detached.map(tableName)).toContain(`${fx.db}.v`);
    const ch = await openClickHouse(fx.config.CLICKHOUSE_URL); // fx.ch was closed by the crash test
    const present = () =>
      queryRows<{ name: string }>(
        ch,
        "SELECT name FROM system.tables WHERE database = 'sidecar' AND name IN {names:Array(String)} ORDER BY name",
        { names: [`${fx.db}__load`, `${fx.db}__v`] },
      );
    try {
      expect((await present()).map((r) => r.name)).toEqual([`${fx.db}__load`, `${fx.db}__v`]);
      const dropped = await dropProjectedTables(fx.config, detached);
      expect(dropped).toContain(`${fx.db}__v`);
      expect(await present()).toEqual([]);
    } finally {
      await ch.close();
    }
  }, 120_000);
});
