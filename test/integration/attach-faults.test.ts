import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attach } from "../../src/attach/attach.js";
import { repairTable } from "../../src/attach/repair.js";
import { parseTableRef } from "../../src/attach/tables.js";
import { startReadApi } from "../../src/read/app.js";
import { projectorFreshness } from "../../src/read/progress.js";
import { parseLsn } from "../../src/shared/lsn.js";
import { metricsRegistry } from "../../src/shared/metrics.js";
import { type AttachmentFixture, createAttachmentFixture } from "../helpers/attachment.js";

const run = promisify(execFile);

/**
 * No single event stops the pipeline (issue 14), on the real stack: a ClickHouse failure that
 * repeats, a projected table or column dropped by hand, a primary key changed at the source, a
 * captured topic deleted while consumed. Each sets the table's events aside (dead-letter topic),
 * marks the table degraded where reads, /ready and metrics show it, and everything else goes on;
 * `repair` brings the table back and clears the mark. detach stops consumption and drops the data
 * through the running process.
 */
describe("nothing stalls: faults, degraded tables, repair, detach", () => {
  let fx: AttachmentFixture;
  let s = "";
  let readApi: Awaited<ReturnType<typeof startReadApi>> | undefined;
  const db = () => fx.config.CLICKHOUSE_DATABASE;
  const target = (t: string) => `${s}__${t}`;

  beforeAll(async () => {
    fx = await createAttachmentFixture("fl", (id) => [`fl_${id}`]);
    s = `fl_${fx.id}`;
    await fx.pool.query(`
      CREATE SCHEMA ${s};
      CREATE TABLE ${s}.ok (id int PRIMARY KEY, v text);
      CREATE TABLE ${s}.constrained (id int PRIMARY KEY, v text);
      CREATE TABLE ${s}.dropped (id int PRIMARY KEY, v text);
      CREATE TABLE ${s}.coldrop (id int PRIMARY KEY, n int, v text);
      CREATE TABLE ${s}.rekey (id int PRIMARY KEY, other int NOT NULL, v text);
      CREATE TABLE ${s}.gone (id int PRIMARY KEY, v text);
      INSERT INTO ${s}.ok SELECT g, 'v' || g FROM generate_series(1, 50) g;
      INSERT INTO ${s}.constrained SELECT g, 'v' || g FROM generate_series(1, 50) g;
      INSERT INTO ${s}.dropped SELECT g, 'v' || g FROM generate_series(1, 50) g;
      INSERT INTO ${s}.coldrop SELECT g, g, 'v' || g FROM generate_series(1, 50) g;
      INSERT INTO ${s}.rekey SELECT g, g, 'v' || g FROM generate_series(1, 50) g;
      INSERT INTO ${s}.gone SELECT g, 'v' || g FROM generate_series(1, 50) g;
    `);
    await attach(fx.deps(), { name: fx.name, schema: s, wait: false });
    const projector = await fx.project();
    readApi = await startReadApi(fx.config, {
      clickhouse: fx.ch,
      freshness: projectorFreshness(projector),
      port: 0,
      hostname: "127.0.0.1",
    });
    const report = await fx.verify();
    expect(report.ok, report.text).toBe(true);
  }, 300_000);

  afterAll(async () => {
    await readApi?.close().catch(() => undefined);
    await fx?.close();
  }, 180_000);

  /** Every change committed so far is in ClickHouse (or set aside): the watermark passed it. */
  const caughtUp = async () => {
    const { rows } = await fx.pool.query<{ l: string }>("SELECT pg_current_wal_lsn()::text AS l");
    await fx.projector()?.waitForLsn(parseLsn(rows[0]?.l as string), 120_000);
  };
  const degraded = () => new Map((fx.projector()?.degraded() ?? []).map((d) => [d.target, d.reason]));
  const repair = (table: string) =>
    repairTable(
      {
        pool: fx.pool,
        kafka: fx.kafka,
        admin: fx.admin,
        config: fx.config,
        reader: { kind: "clickhouse", client: fx.ch, database: db() },
        out: (l) => fx.lines.push(l),
      },
      fx.name,
      parseTableRef(`${s}.${table}`),
      180_000,
    );
  const dlqReasons = async (): Promise<Map<string, string[]>> => {
    const total = (await fx.admin.fetchTopicOffsets(fx.config.DLQ_TOPIC)).reduce((n, p) => n + Number(p.high), 0);
    const out = new Map<string, string[]>();
    const consumer = fx.kafka.consumer({ groupId: `dlq-${randomBytes(4).toString("hex")}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [fx.config.DLQ_TOPIC], fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const topic = String(message.headers?.["dlq.topic"]);
          out.set(topic, [...(out.get(topic) ?? []), String(message.headers?.["dlq.reason"])]);
          if (++seen >= total) resolve();
        },
      });
    });
    await consumer.disconnect();
    return out;
  };
  const tableList = async () => {
    const res = await fetch(`${readApi?.url}/api/tables`);
    expect(res.status).toBe(200);
    return (await res.json()) as {
      data: { name: string; degraded?: { reason: string } }[];
      freshness: { degraded?: { table: string; reason: string }[] };
    };
  };

  it("a ClickHouse failure that repeats sets the table's events aside and degrades it; the rest goes on; repair clears it", async () => {
    await fx.ch.command({
      query: `ALTER TABLE ${db()}.${target("constrained")} ADD CONSTRAINT no_poison CHECK v != 'poison'`,
    });
    await fx.pool.query(`INSERT INTO ${s}.constrained VALUES (100, 'poison'), (101, 'fine')`);
    await fx.pool.query(`UPDATE ${s}.ok SET v = 'after the poison' WHERE id = 1`);
    await caughtUp();

    expect(degraded().get(target("constrained"))).toMatch(/no_poison|CONSTRAINT/i);
    expect(degraded().has(target("ok"))).toBe(false);
    expect((await fx.verify([{ schema: s, table: "ok" }])).ok).toBe(true);
    const dlq = await dlqReasons();
    expect(dlq.get(fx.topic(s, "constrained"))?.[0]).toMatch(/insert failed 3 time\(s\) the same way/);
    // Visible in reads (the table list's freshness, a read of that table, not a read of another), /ready and metrics.
    const list = await tableList();
    expect(list.freshness.degraded?.map((d) => d.table)).toContain(target("constrained"));
    expect(list.data.find((t) => t.name === target("constrained"))?.degraded?.reason).toMatch(/no_poison/);
    expect(list.data.find((t) => t.name === target("ok"))?.degraded).toBeUndefined();
    const own = await (await fetch(`${readApi?.url}/api/tables/${target("constrained")}/rows`)).json();
    expect(own.freshness.degraded?.[0]?.table).toBe(target("constrained"));
    const other = await (await fetch(`${readApi?.url}/api/tables/${target("ok")}/rows`)).json();
    expect(other.freshness.degraded).toBeUndefined();
    const ready = await (await fetch(`${readApi?.url}/ready`)).json();
    expect(ready.freshness.degraded?.map((d: { table: string }) => d.table)).toContain(target("constrained"));
    expect(await metricsRegistry().getSingleMetricAsString("sidecar_projector_degraded_tables")).toMatch(
      new RegExp(`table="${target("constrained")}"} 1`),
    );

    // While degraded, later changes get one try each: a row the constraint accepts lands.
    await fx.pool.query(`INSERT INTO ${s}.constrained VALUES (102, 'later')`);
    await caughtUp();
    const later = await fx.ch
      .query({ query: `SELECT v FROM ${db()}.${target("constrained")} FINAL WHERE id = 102`, format: "JSONEachRow" })
      .then((r) => r.json<{ v: string }>());
    expect(later).toEqual([{ v: "later" }]);

    // repair: verify finds the set-aside rows missing, re-reads the table in place, verifies again, clears the mark.
    await fx.ch.command({ query: `ALTER TABLE ${db()}.${target("constrained")} DROP CONSTRAINT no_poison` });
    await fx.pool.query(`DELETE FROM ${s}.constrained WHERE id = 7`); // while degraded: also a delete
    await repair("constrained");
    expect(fx.lines.join("\n")).toMatch(/re-reading .*constrained in place/);
    expect(degraded().has(target("constrained"))).toBe(false);
    expect((await fx.verify([{ schema: s, table: "constrained" }])).ok).toBe(true);
    expect(await metricsRegistry().getSingleMetricAsString("sidecar_projector_degraded_tables")).toMatch(
      new RegExp(`table="${target("constrained")}"} 0`),
    );
  }, 400_000);

  it("a projected table or column dropped by hand is created again, degraded, and repaired", async () => {
    await fx.ch.command({ query: `DROP TABLE ${db()}.${target("dropped")} SYNC` });
    await fx.ch.command({ query: `ALTER TABLE ${db()}.${target("coldrop")} DROP COLUMN n` });
    await fx.pool.query(`UPDATE ${s}.dropped SET v = 'changed' WHERE id = 1`);
    await fx.pool.query(`UPDATE ${s}.coldrop SET n = -1 WHERE id = 1`);
    await fx.pool.query(`UPDATE ${s}.ok SET v = 'still streaming' WHERE id = 2`);
    await caughtUp();
    expect(degraded().get(target("dropped"))).toMatch(/created again/);
    expect(degraded().get(target("coldrop"))).toMatch(/added to the projection .*read n = /);
    const rows = await fx.ch
      .query({ query: `SELECT id, v FROM ${db()}.${target("dropped")} FINAL`, format: "JSONEachRow" })
      .then((r) => r.json<{ id: number; v: string }>());
    expect(rows).toEqual([{ id: 1, v: "changed" }]);
    const coldrop = await fx.verify([{ schema: s, table: "coldrop" }]);
    expect(coldrop.ok).toBe(false); // rows other than id 1 lost n with the column
    await repair("dropped");
    await repair("coldrop");
    const report = await fx.verify();
    expect(report.tables.filter((t) => !t.ok && !t.table.endsWith(".rekey")).map((t) => t.table)).toEqual([]);
    expect([...degraded().keys()]).not.toContain(target("dropped"));
  }, 400_000);

  it("an event whose key does not match the projection's key is set aside and its table degraded", async () => {
    await fx.pool.query(`ALTER TABLE ${s}.rekey DROP CONSTRAINT rekey_pkey, ADD PRIMARY KEY (id, other)`);
    await fx.pool.query(`UPDATE ${s}.rekey SET v = 'new key' WHERE id = 3`);
    await fx.pool.query(`UPDATE ${s}.ok SET v = 'after rekey' WHERE id = 3`);
    await caughtUp();
    expect(degraded().get(target("rekey"))).toMatch(/primary key changed/);
    const dlq = await dlqReasons();
    expect(dlq.get(fx.topic(s, "rekey"))?.join("\n")).toMatch(/carry the key \(id, other\)/);
    expect((await fx.verify([{ schema: s, table: "ok" }])).ok).toBe(true);
  }, 300_000);

  it("a captured topic deleted while consumed stops nothing", async () => {
    await fx.pool.query(`UPDATE ${s}.gone SET v = 'streamed first' WHERE id = 5`);
    await caughtUp(); // the topic exists and is consumed
    await fx.admin.deleteTopics({ topics: [fx.topic(s, "gone")], timeout: 30_000 });
    await fx.pool.query(`UPDATE ${s}.ok SET v = 'after topic deletion' WHERE id = 4`);
    await fx.pool.query(`UPDATE ${s}.gone SET v = 'after topic deletion' WHERE id = 4`);
    await caughtUp();
    expect((await fx.verify([{ schema: s, table: "ok" }])).ok).toBe(true);
  }, 300_000);

  it("detach deletes the attachment's topics (the projector stops consuming them) and --drop-data goes through the running sidecar", async () => {
    const tables = ["ok", "constrained", "dropped", "coldrop", "rekey", "gone"].map(target);
    const env = {
      ...process.env,
      DATABASE_URL: fx.config.DATABASE_URL,
      KAFKA_BROKERS: fx.config.KAFKA_BROKERS.join(","),
      KAFKA_CONNECT_URL: fx.config.KAFKA_CONNECT_URL,
      CLICKHOUSE_URL: fx.config.CLICKHOUSE_URL, // held by this process: the CLI must go through the control topic
      CLICKHOUSE_DATABASE: db(),
      TOPIC_PREFIX: fx.config.TOPIC_PREFIX,
      PROJECTOR_GROUP: fx.config.PROJECTOR_GROUP,
      LOG_LEVEL: "warn",
    };
    const { stdout } = await run(
      "node",
      ["--import", "tsx", "src/main/cli.ts", "detach", "--name", fx.name, "--drop-data", "--yes"],
      { env, timeout: 240_000 },
    );
    expect(stdout).toMatch(/topics deleted/);
    expect(stdout).toMatch(/dropped ClickHouse tables/);
    const left = await fx.ch
      .query({
        query: "SELECT name FROM system.tables WHERE database = {db:String} AND name IN {t:Array(String)}",
        query_params: { db: db(), t: tables },
        format: "JSONEachRow",
      })
      .then((r) => r.json<{ name: string }>());
    expect(left).toEqual([]);
    // The projector's group stops consuming them at its next topic refresh (every 10 s).
    await fx.waitFor(
      "the consumer group to let go of the detached topics",
      async () => {
        const [group] = (await fx.admin.describeGroups([fx.config.PROJECTOR_GROUP])).groups;
        const assigned = (group?.members ?? []).flatMap((m) =>
          m.memberAssignment.length ? [m.memberAssignment.toString("latin1")] : [],
        );
        return assigned.length > 0 && assigned.every((a) => !a.includes(`${s}.`));
      },
      60_000,
    );
  }, 400_000);
});
