import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Admin, Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addTables } from "../../src/attach/add-tables.js";
import { attach, detach, followAttachment } from "../../src/attach/attach.js";
import { catalogShape, readCatalog } from "../../src/attach/catalog.js";
import { attachNames } from "../../src/attach/tables.js";
import { formatVerifyReport, type ProjectionReader, verifyAttachment } from "../../src/attach/verify.js";
import { tableShape } from "../../src/cdc/table.js";
import { type ClickHouse, openClickHouse, queryRows, quoteIdent } from "../../src/clickhouse/client.js";
import { ConnectClient } from "../../src/connect/connect-client.js";
import { createTableSql } from "../../src/projector/ddl.js";
import { type Projector, startProjector } from "../../src/projector/projector.js";
import { startReadApi } from "../../src/read/app.js";
import { memoryFreshness } from "../../src/read/freshness.js";
import { type Config, loadConfig } from "../../src/shared/config.js";
import { createKafka } from "../../src/shared/kafka.js";
import { createLogger } from "../../src/shared/logger.js";
import { createPgPool, type PgPool } from "../../src/shared/postgres.js";
import { registerTestResources, unregisterTestResources } from "../helpers/leftovers.js";
import { createLegacySchema, dropLegacySchema, legacySchemas } from "../helpers/legacy-schema.js";
import { decodeMessage, readSchemaTopic, touchOneRow } from "../helpers/schemas.js";
import { stackEnv } from "../helpers/stack.js";

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Attach to a legacy database the test creates with raw SQL (two schemas, enums, domains, arrays,
 * jsonb, numeric, timestamptz, bytea, composite keys, a partitioned table, a keyless table, 100,000
 * rows), on the real stack: Postgres → Debezium → Kafka → the real projector → embedded ClickHouse.
 * Its own attachment name, topic prefix, consumer group and chDB directory.
 */
describe("attach to a legacy database", () => {
  const id = `a${randomBytes(3).toString("hex")}`;
  const name = `lg_${id}`;
  const names = attachNames(name);
  const { crm, billing } = legacySchemas(id);
  const chdbDir = mkdtempSync(join(tmpdir(), "attach-chdb-"));
  const lines: string[] = [];
  let config: Config;
  let pool: PgPool;
  let kafka: Kafka;
  let admin: Admin;
  let ch: ClickHouse;
  let projector: Projector | undefined;
  let projectorStarting: Promise<Projector> | undefined;
  let readApi: Awaited<ReturnType<typeof startReadApi>> | undefined;
  const connect = () => new ConnectClient(stackEnv().KAFKA_CONNECT_URL);
  const deps = () => ({
    pool,
    admin,
    connect: connect(),
    config,
    io: { out: (l: string) => lines.push(l) },
    clickhouse: ch,
  });
  const direct = (): ProjectionReader => ({ kind: "clickhouse", client: ch, database: config.CLICKHOUSE_DATABASE });
  const topic = (schema: string, table: string) => `${config.TOPIC_PREFIX}.${schema}.${table}`;
  const attachedTopics = () => [
    topic(crm, "customers"),
    topic(crm, "contacts"),
    topic(billing, "invoices"),
    topic(billing, "ledger"),
  ];
  const snapshotCounts = new Map<string, number>();

  /** op=r events per topic, from the beginning of each topic up to its end now. */
  async function countReads(topics: string[]): Promise<Map<string, number>> {
    const ends = new Map<string, number>();
    for (const t of topics)
      ends.set(
        t,
        (await admin.fetchTopicOffsets(t)).reduce((s, p) => s + Number(p.high), 0),
      );
    const counts = new Map(topics.map((t) => [t, 0]));
    const seen = new Map(topics.map((t) => [t, 0]));
    const groupId = `count-${id}-${randomBytes(3).toString("hex")}`;
    const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 16 << 20 });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (topics.every((t) => (seen.get(t) ?? 0) >= (ends.get(t) ?? 0))) resolve();
      };
      check();
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              if (Number(m.offset) >= (ends.get(batch.topic) ?? 0)) continue;
              seen.set(batch.topic, (seen.get(batch.topic) ?? 0) + 1);
              if (m.value && /"op":"r"/.test(m.value.toString("utf8").slice(-600))) {
                counts.set(batch.topic, (counts.get(batch.topic) ?? 0) + 1);
              }
            }
            check();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    return counts;
  }

  let writes = 0;
  /** Inserts, updates and deletes on every attached table, in small transactions, until stopped. */
  function writer() {
    let stop = false;
    let rounds = 0;
    const done = (async () => {
      const db = await pool.connect();
      try {
        while (!stop) {
          const n = ++writes;
          const base = 1_000_000 + n;
          await db.query("BEGIN");
          await db.query(
            `INSERT INTO ${crm}.customers (id, email, status, tags, scores, profile, balance, credit, avatar, note, code, ratio, weight, active, born, uid, wake, seen, raw, small, span)
           VALUES ($1, $2, 'active', ARRAY['new', NULL, 'q"uote'], ARRAY[1, -2], '{"k": [1, {"x": null}]}', 12.5, 7.77, '\\x00ff10', NULL, 'ab', 0.1, 0.3, true,
                   '2001-02-03', gen_random_uuid(), '23:59:59.999999', '2024-02-29 12:00:00.001', 3.14159265358979323846, -5, '1 year 2 mons 3 days 04:05:06.5')`,
            [base, `w${n}@example.com`],
          );
          await db.query(
            `UPDATE ${crm}.customers SET status = 'closed', tags = '{}', balance = balance + 0.01, profile = profile || '{"u": 1}', seen = NULL WHERE id = $1`,
            [(n % 500) + 1],
          );
          await db.query(`DELETE FROM ${crm}.customers WHERE id = $1`, [base - 3]);
          await db.query(`UPDATE ${crm}.contacts SET value = value || '+', since = now() WHERE customer_id = $1`, [
            (n % 200) + 1,
          ]);
          await db.query(`DELETE FROM ${crm}.contacts WHERE customer_id = $1 AND channel = 'ßms'`, [(n % 200) + 1]);
          await db.query(
            `INSERT INTO ${crm}.contacts VALUES ($1, 'écho', 'x', now()) ON CONFLICT (customer_id, channel) DO UPDATE SET value = 'y'`,
            [(n % 200) + 1],
          );
          // Moves a row to another partition (delete + insert under the root).
          await db.query(
            `UPDATE ${billing}.invoices SET issued_on = issued_on + 400, total = total + 1 WHERE id = $1`,
            [n + 10],
          );
          await db.query(`INSERT INTO ${billing}.invoices VALUES ($1, '2025-06-01', 1, 9.99, '[]')`, [100_000 + n]);
          await db.query(`UPDATE ${billing}.ledger SET amount = -amount, label = NULL WHERE id % 997 = $1`, [n % 997]);
          await db.query(`DELETE FROM ${billing}.ledger WHERE id = $1`, [n * 13]);
          await db.query("COMMIT");
          rounds++;
          await sleep(20);
        }
      } catch (err) {
        await db.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        db.release();
      }
    })();
    return {
      stop: async () => {
        stop = true;
        await done;
        return rounds;
      },
    };
  }

  async function dlqReasons(): Promise<string[]> {
    const ends = await admin.fetchTopicOffsets(config.DLQ_TOPIC).catch(() => []);
    const total = ends.reduce((s, p) => s + Number(p.high), 0);
    if (total === 0) return [];
    const reasons: string[] = [];
    const groupId = `dlq-${id}-${randomBytes(3).toString("hex")}`;
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topics: [config.DLQ_TOPIC], fromBeginning: true });
    await new Promise<void>((resolve) => {
      consumer.run({
        eachMessage: async ({ message }) => {
          reasons.push(`${message.headers?.["dlq.topic"]}: ${message.headers?.["dlq.reason"]}`);
          if (reasons.length >= total) resolve();
        },
      });
    });
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    return reasons;
  }

  async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 180_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await fn())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(500);
    }
  }

  beforeAll(async () => {
    const env = stackEnv();
    config = loadConfig({
      ...process.env,
      DATABASE_URL: env.DATABASE_URL,
      CONNECT_DATABASE_URL: env.CONNECT_DATABASE_URL,
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      KAFKA_CONNECT_URL: env.KAFKA_CONNECT_URL,
      CLICKHOUSE_URL: `chdb:${chdbDir}`,
      CLICKHOUSE_DATABASE: "sidecar",
      TOPIC_PREFIX: `at_${id}`,
      PROJECTOR_GROUP: `attach-test-${id}`,
      DLQ_TOPIC: `at_${id}.dlq`,
      PROJECTOR_MAX_BACKOFF_MS: "1000",
      LOG_LEVEL: "warn",
    });
    pool = createPgPool(config.DATABASE_URL, { max: 6, applicationName: `test-attach-${id}` });
    kafka = createKafka(config.KAFKA_BROKERS, `test-attach-${id}`);
    admin = kafka.admin();
    await admin.connect();
    ch = await openClickHouse(config.CLICKHOUSE_URL);
    await registerTestResources(env, {
      connector: names.connector,
      slot: names.slot,
      publication: names.publication,
      schemas: [crm, billing],
    });
    await createLegacySchema(pool, id, 100_000);
    await pool.query(`CREATE TABLE ${crm}.empty_notes (id int PRIMARY KEY, body text, at timestamptz)`);
  }, 300_000);

  afterAll(async () => {
    await readApi?.close().catch(() => undefined);
    if (projector) await projector.stop().catch(() => undefined);
    else if (projectorStarting) await projectorStarting.then((p) => p.stop()).catch(() => undefined);
    if (pool) {
      await detach({ pool, connect: connect(), io: { out: () => undefined } }, name).catch((e) =>
        console.error("detach:", e),
      );
      await dropLegacySchema(pool, id).catch((e) => console.error("drop schema:", e));
      await unregisterTestResources(stackEnv(), names.connector).catch(() => undefined);
      await pool.end();
    }
    if (admin) {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`at_${id}.`));
      if (mine.includes(config.DLQ_TOPIC)) console.error("DLQ:", await dlqReasons());
      if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
      await admin.deleteGroups([config.PROJECTOR_GROUP]).catch(() => undefined);
      await admin.disconnect();
    }
    await ch?.close();
    rmSync(chdbDir, { recursive: true, force: true });
  }, 180_000);

  it("attaches: ClickHouse tables from the catalog first, snapshot with progress, then streaming; verify finds no difference", async () => {
    const started = Date.now();
    await attach(deps(), { name, schema: `${crm},${billing}`, noKey: "skip", wait: false });
    // The projector runs like `cqrs-sidecar run project`, started once the attachment streams (its heartbeats).
    await waitFor("the attachment's heartbeat topic", async () =>
      (await admin.listTopics()).includes(topic("sidecar", "heartbeat")),
    );
    projectorStarting = startProjector(config, { clickhouse: ch, log: createLogger("warn") });
    projector = await projectorStarting;
    await followAttachment(deps(), name, 240_000);
    const text = lines.join("\n");
    expect(text).toMatch(/leaving out \(no key\): .*audit_log/);
    expect(text).toMatch(/ClickHouse tables from the Postgres catalog: .*__empty_notes/);
    expect(text).toMatch(/ledger: 100,000 \/ 100,000 rows \(100%\)/);
    expect(text).toMatch(/snapshot copied: [\d,]+ rows in .* s \([\d,]+ rows\/s\); streaming changes now/);
    console.log(
      `attach + snapshot of ~${(100_000 + 500 + 1400 + 2000).toLocaleString()} rows: ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    // An empty table exists before any event (it never had one); the keyless and the sidecar's own tables are not projected.
    const tables = (
      await queryRows<{ name: string }>(
        ch,
        "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name",
        {
          db: config.CLICKHOUSE_DATABASE,
        },
      )
    ).map((r) => r.name);
    expect(tables).toEqual(
      expect.arrayContaining([
        `${crm}__customers`,
        `${crm}__contacts`,
        `${crm}__empty_notes`,
        `${billing}__invoices`,
        `${billing}__ledger`,
      ]),
    );
    expect(tables.filter((t) => t.startsWith("sidecar__") || t.includes("audit_log"))).toEqual([]);
    expect((await admin.listTopics()).includes(topic(crm, "empty_notes"))).toBe(false);

    // The watermark moves with heartbeats on sidecar.heartbeat.
    const w1 = projector.watermark()?.lsn ?? 0n;
    await waitFor("watermark to move on heartbeats", async () => (projector?.watermark()?.lsn ?? 0n) > w1, 30_000);

    const report = await verifyAttachment(pool, direct(), name);
    console.log(formatVerifyReport(report));
    expect(report.projectionBehind).toBe(false);
    expect(report.tables.map((t) => [t.table, t.ok, t.problem])).toEqual(
      [`${billing}.invoices`, `${billing}.ledger`, `${crm}.contacts`, `${crm}.customers`, `${crm}.empty_notes`].map(
        (t) => [t, true, undefined],
      ),
    );
    const ledger = report.tables.find((t) => t.table === `${billing}.ledger`);
    expect(ledger?.postgresRows).toBe(100_000);
    expect(ledger?.clickhouseRows).toBe(100_000);
    expect(ledger?.postgresChecksum).toBe(ledger?.clickhouseChecksum);
    expect(report.tables.find((t) => t.table === `${crm}.contacts`)?.postgresRows).toBe(1400);
  }, 600_000);

  it("the catalog DDL is exactly the DDL the projector derives from Debezium's first event of each table", async () => {
    await touchOneRow(pool, [
      { schema: crm, table: "customers" },
      { schema: crm, table: "contacts" },
      { schema: billing, table: "invoices" },
      { schema: billing, table: "ledger" },
    ]);
    await waitFor("a streamed event on every table's topic", async () => {
      const existing = await admin.listTopics();
      return attachedTopics().every((t) => existing.includes(t));
    });
    const consumer = kafka.consumer({ groupId: `ddl-${id}` });
    const first = new Map<string, ReturnType<typeof decodeMessage>>();
    const schemas = await readSchemaTopic(kafka);
    await consumer.connect();
    await consumer.subscribe({ topics: attachedTopics(), fromBeginning: true });
    await new Promise<void>((resolve) => {
      consumer.run({
        eachMessage: async ({ topic: t, message }) => {
          if (first.has(t) || !message.value) return;
          first.set(t, decodeMessage(message, schemas));
          if (first.size === attachedTopics().length) resolve();
        },
      });
    });
    await consumer.disconnect();
    await admin.deleteGroups([`ddl-${id}`]).catch(() => undefined);
    const ddl = { database: config.CLICKHOUSE_DATABASE };
    for (const ev of first.values()) {
      const fromEvent = createTableSql(ddl, tableShape(ev.schema, ev.table, ev.rowSchema as never, ev.key?.schema));
      const fromCatalog = createTableSql(
        ddl,
        catalogShape(await readCatalog(pool, { schema: ev.schema, table: ev.table })),
      );
      expect(fromCatalog).toBe(fromEvent);
    }
    for (const [t, n] of await countReads(attachedTopics())) snapshotCounts.set(t, n);
    // attach copied the snapshot itself: none of the 100,000 ledger rows went through Kafka.
    expect(snapshotCounts.get(topic(billing, "ledger"))).toBe(0);
  }, 300_000);

  it("streams inserts, updates and deletes; verify (directly and through the read API) finds no difference", async () => {
    const w = writer();
    await sleep(15_000);
    const rounds = await w.stop();
    expect(rounds).toBeGreaterThan(20);
    const report = await verifyAttachment(pool, direct(), name);
    console.log(formatVerifyReport(report));
    expect(report.tables.filter((t) => !t.ok)).toEqual([]);
    expect(await dlqReasons()).toEqual([]);
    const customers = report.tables.find((t) => t.table === `${crm}.customers`);
    expect(customers?.postgresRows).toBe(
      Number((await pool.query(`SELECT count(*) FROM ${crm}.customers`)).rows[0].count),
    );

    readApi = await startReadApi(config, {
      clickhouse: ch,
      freshness: memoryFreshness(() => {
        const wm = projector?.watermark();
        return wm ? { lsn: wm.lsn, commitTime: wm.commitTs, updatedAt: wm.publishedAt } : null;
      }),
      port: 0,
      hostname: "127.0.0.1",
      log: createLogger("warn"),
    });
    const viaApi = await verifyAttachment(pool, { kind: "read-api", url: readApi.url }, name, { chunkRows: 3000 });
    expect(viaApi.tables.filter((t) => !t.ok)).toEqual([]);
    expect(viaApi.tables.map((t) => t.clickhouseChecksum)).toEqual(report.tables.map((t) => t.clickhouseChecksum));
    // The empty table is served by the generic endpoint, with no code for it.
    const res = await fetch(`${readApi.url}/api/tables/${crm}__empty_notes/rows`);
    expect(res.status).toBe(200);
    expect((await res.json()).data).toEqual([]);
  }, 600_000);

  it("attach --add copies a new table (the sidecar's copy) while the others stream, without re-snapshotting them", async () => {
    await pool.query(
      `CREATE TABLE ${billing}.refunds (id int PRIMARY KEY, invoice_id bigint NOT NULL, amount numeric(10, 2), reason text, at timestamptz DEFAULT now())`,
    );
    await pool.query(
      `INSERT INTO ${billing}.refunds SELECT g, g, g * 0.5, 'r' || g, now() FROM generate_series(1, 3000) g`,
    );
    const w = writer();
    lines.length = 0;
    try {
      await addTables(deps(), { name, tables: [{ schema: billing, table: "refunds" }], stallMs: 240_000 });
    } finally {
      await w.stop();
    }
    expect(lines.join("\n")).toMatch(/temporary slot \S+_add created/);
    expect(lines.join("\n")).toMatch(/snapshot copied: 3,000 rows/);
    // The copy goes straight to ClickHouse: no table's rows were read again through Kafka (the new
    // table's topic exists only once a change of it streamed).
    const refunds = topic(billing, "refunds");
    const streamed = (await admin.listTopics()).includes(refunds) ? [refunds] : [];
    const after = await countReads([...attachedTopics(), ...streamed]);
    for (const t of attachedTopics()) expect([t, after.get(t)]).toEqual([t, snapshotCounts.get(t)]);
    expect(after.get(refunds) ?? 0).toBe(0);
    const report = await verifyAttachment(pool, direct(), name);
    console.log(formatVerifyReport(report));
    expect(report.tables.map((t) => t.table)).toContain(`${billing}.refunds`);
    expect(report.tables.filter((t) => !t.ok)).toEqual([]);
  }, 600_000);

  it("verify (CLI, through the read API) detects a row deleted while the connector was stopped and a value changed in ClickHouse, and exits 1", async () => {
    if (!readApi) throw new Error("read API not started");
    const client = connect();
    await client.stop(names.connector);
    await client.waitState(names.connector, "STOPPED", 60_000);
    // STOPPED is reported before the task has let go of the slot: wait for the walsender to
    // leave, or the delete below could still be streamed before the connector stops.
    for (let i = 0; i < 240; i++) {
      const { rows } = await pool.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [names.slot]);
      if (rows[0]?.active === false) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await pool.query(`DELETE FROM ${billing}.ledger WHERE id = 77`);
    const db = quoteIdent(config.CLICKHOUSE_DATABASE);
    await ch.command({
      query: `INSERT INTO ${db}.${quoteIdent(`${crm}__contacts`)} SELECT * REPLACE (concat(value, '!') AS value, _version + 1 AS _version) FROM ${db}.${quoteIdent(`${crm}__contacts`)} FINAL WHERE customer_id = 150 AND channel = 'Zeta'`,
    });
    const cli = await run(
      "npx",
      [
        "tsx",
        "src/main/cli.ts",
        "verify",
        "--name",
        name,
        "--via",
        "read-api",
        "--wait",
        "2",
        "--tables",
        `${billing}.ledger,${crm}.contacts,${crm}.customers`,
      ],
      {
        env: {
          ...process.env,
          DATABASE_URL: config.DATABASE_URL,
          READ_API_URL: readApi.url,
          CLICKHOUSE_DATABASE: config.CLICKHOUSE_DATABASE,
          LOG_LEVEL: "warn",
        },
      },
    ).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: `${e.stdout}\n${e.stderr}` }),
    );
    console.log(cli.out);
    expect(cli.code).toBe(1);
    expect(cli.out).toMatch(
      new RegExp(`DIFF  ${billing}\\.ledger.*\\n.*extra in ClickHouse 1, different 0\\n.*extra \\{"id":"77"\\}`),
    );
    expect(cli.out).toMatch(
      /different \{"customer_id":"150","channel":"Zeta"\} columns value: Postgres \{"value":"Zeta:150\+*"\} ClickHouse \{"value":"Zeta:150\+*!"\}/,
    );
    expect(cli.out).toMatch(new RegExp(`ok    ${crm}\\.customers`));

    // Resumed, the connector delivers the delete; a new version of the changed row heals it.
    await fetch(`${stackEnv().KAFKA_CONNECT_URL}/connectors/${names.connector}/resume`, { method: "PUT" });
    await client.waitRunning(names.connector, 120_000);
    await pool.query(`UPDATE ${crm}.contacts SET value = value WHERE customer_id = 150 AND channel = 'Zeta'`);
    const healed = await verifyAttachment(pool, direct(), name, { waitMs: 120_000 });
    expect(healed.tables.filter((t) => !t.ok)).toEqual([]);
  }, 600_000);

  it("detach leaves no connector, slot or publication behind", async () => {
    await detach({ pool, connect: connect(), io: { out: (l) => lines.push(l) } }, name);
    expect(await connect().status(names.connector)).toBeFalsy();
    expect((await pool.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [names.slot])).rowCount).toBe(
      0,
    );
    expect((await pool.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [names.publication])).rowCount).toBe(0);
  }, 180_000);
});
