import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type ClickHouse, openClickHouse, queryRows } from "../../src/clickhouse/client.js";
import { PROGRESS_TABLE, WATERMARK_ROW } from "../../src/projector/ddl.js";
import { projectorHttpApp } from "../../src/projector/http.js";
import { type Projector, startProjector } from "../../src/projector/projector.js";
import { type Config, loadConfig } from "../../src/shared/config.js";
import { createKafka } from "../../src/shared/kafka.js";
import { createLogger } from "../../src/shared/logger.js";
import { type Capture, createCapture, waitForTopics } from "../helpers/capture.js";
import { currentToken, finalRows } from "../helpers/projection.js";
import { stackEnv } from "../helpers/stack.js";

/**
 * The projector against the real stack: its own schema, connector, consumer group, ClickHouse
 * database and chDB directory. Every comparison is Postgres vs ClickHouse FINAL, value by value.
 */
let cap: Capture;
let ch: ClickHouse;
let projector: Projector;
let config: Config;
let chdbDir: string;
const log = createLogger("warn");
const tables = ["all_types", "toasty", "evolving", "trunc"];
const orderBy: Record<string, string> = { all_types: "id", toasty: "id", evolving: "id", trunc: "k1, k2" };

async function catchUp(): Promise<void> {
  const token = await currentToken(cap.pool);
  await projector.waitForLsn(token, 90_000);
}

const S = () => cap.schema;

beforeAll(async () => {
  const env = stackEnv();
  cap = await createCapture(env, "proj");
  const s = cap.schema;
  await cap.pool.query(`CREATE TYPE ${s}.mood AS ENUM ('sad', 'ok', 'happy')`);
  await cap.pool.query(`CREATE TABLE ${s}.all_types (
    id bigint PRIMARY KEY, s smallint, i int, big bigint, n12 numeric(12,2), n numeric, nbig numeric(40,10), r real, d double precision,
    b boolean, t text, vc varchar(20), c char(3), u uuid, dt date, tm time, ts timestamp, ts3 timestamp(3), tstz timestamptz,
    iv interval, j json, jb jsonb, by bytea, ai int[], at text[], e ${s}.mood, m money)`);
  await cap.pool.query(`CREATE TABLE ${s}.toasty (id int PRIMARY KEY, big text, n int)`);
  await cap.pool.query(`CREATE TABLE ${s}.evolving (id int PRIMARY KEY, a text NOT NULL)`);
  await cap.pool.query(`CREATE TABLE ${s}.trunc (k1 int, k2 text, v text, PRIMARY KEY (k1, k2))`);
  // Snapshot rows (op r): one full, one all NULL, one with edge values.
  await cap.pool.query(`INSERT INTO ${s}.all_types VALUES
    (1, 1, 2, 9223372036854775807, 1234.50, 123456789012345678901234567890.123456789, 123456789012345678901234567890.0123456789, 1.5, 2.25,
     true, 'x', 'vc', 'ab', 'f7897e09-def1-47c6-a0d6-4805237e9cb8', '2024-02-29', '12:34:56.789012', '2024-01-02 03:04:05.123456',
     '2024-01-02 03:04:05.123', '2024-01-02 03:04:05.120001+02', '1 year 2 mons 3 days 04:05:06.789', '{"a": 1,  "z": [1]}', '{"b": [1,2]}',
     '\\x00ff10', '{1,NULL,3}', '{"a","b c",NULL}', 'ok', 12.34),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (-9223372036854775808, -32768, -2147483648, -9223372036854775808, -9999999999.99, 0.0000000001, -0.0000000001, 0.1, 0.1,
     false, '', 'ümlaut ✓', 'a', '00000000-0000-0000-0000-000000000000', '1900-01-01', '00:00:00', '1970-01-01 00:00:00',
     '2299-12-31 23:59:59.999', '1999-12-31 23:59:59.999999+00', '-1 days -00:00:01.5', '"str"', '[]', '\\x', '{}', '{}', 'sad', -1.5)`);
  await cap.pool.query(`INSERT INTO ${s}.evolving VALUES (1, 'one'), (2, 'two')`);
  await cap.pool.query(`INSERT INTO ${s}.trunc VALUES (1, 'a', 'x'), (2, 'b', 'y')`);
  await cap.start(tables);
  // toasty has no rows yet, so no topic: the projector must pick it up when it appears.
  await waitForTopics(env.KAFKA_BROKERS.split(","), [
    ...tables.filter((t) => t !== "toasty").map((t) => cap.topic(t)),
    cap.heartbeatTopic,
  ]);
  chdbDir = mkdtempSync(join(tmpdir(), "proj-chdb-"));
  config = loadConfig({
    KAFKA_BROKERS: env.KAFKA_BROKERS,
    CLICKHOUSE_URL: `chdb:${chdbDir}`,
    CLICKHOUSE_DATABASE: `p_${cap.id}`,
    TOPIC_PREFIX: cap.topicPrefix,
    PROJECTOR_GROUP: `g_${cap.id}`,
    DLQ_TOPIC: `${cap.topicPrefix}_dlq`,
    LOG_LEVEL: "warn",
  });
  ch = await openClickHouse(config.CLICKHOUSE_URL);
  projector = await startProjector(config, { clickhouse: ch, log });
});

afterAll(async () => {
  await projector?.stop();
  await ch?.close();
  await cap?.drop();
  if (chdbDir) rmSync(chdbDir, { recursive: true, force: true });
});

/** Postgres rows of all_types rendered the way ClickHouse returns them (JSONEachRow, normalised settings). */
async function pgAllTypes(): Promise<Record<string, unknown>[]> {
  await cap.pool.query("SET intervalstyle = iso_8601");
  const r =
    await cap.pool.query(`SELECT id::text AS id, s, i, big::text AS big, n12::text AS n12, n::text AS n, nbig::text AS nbig,
      r::float8 AS r, d, b, t, vc, c, u::text AS u, to_char(dt, 'YYYY-MM-DD') AS dt,
      CASE WHEN tm IS NULL THEN NULL ELSE to_char('2000-01-01'::date + tm, 'HH24:MI:SS.US') END AS tm,
      to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US') AS ts, to_char(ts3, 'YYYY-MM-DD HH24:MI:SS.MS') AS ts3,
      to_char(tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS tstz, iv::text AS iv, j::text AS j, jb::text AS jb,
      CASE WHEN by IS NULL THEN NULL ELSE encode(by, 'hex') END AS by, ai, at, e::text AS e, m::numeric::text AS m
    FROM ${S()}.all_types ORDER BY id`);
  await cap.pool.query("RESET intervalstyle");
  return r.rows;
}

function normaliseCh(row: Record<string, unknown>): Record<string, unknown> {
  // Float32 comes back as its shortest decimal; Postgres real → float8 carries the same binary value.
  return { ...row, r: row.r === null ? null : Math.fround(Number(row.r)) };
}
function normalisePg(row: Record<string, unknown>): Record<string, unknown> {
  return { ...row, r: row.r === null ? null : Math.fround(Number(row.r)) };
}

describe("projector on the real stack", () => {
  test("every type: snapshot, insert, update, delete → FINAL equals Postgres value for value", async () => {
    await cap.pool.query(`INSERT INTO ${S()}.all_types (id, s, n12, t, tstz, ai, jb, by)
      VALUES (4, 7, 0.01, 'four', '2030-05-06 07:08:09.000001Z', '{5}', '{"k": null}', '\\xdeadbeef')`);
    await cap.pool.query(
      `UPDATE ${S()}.all_types SET i = 42, n = 1e-20, t = 'changed', ai = NULL, tstz = '2024-06-01 00:00:00.5+00' WHERE id = 1`,
    );
    await cap.pool.query(`UPDATE ${S()}.all_types SET t = 'set', big = 1 WHERE id = 2`);
    await cap.pool.query(`DELETE FROM ${S()}.all_types WHERE id = 4`);
    await cap.pool.query(`INSERT INTO ${S()}.all_types (id, t) VALUES (5, 'five')`);
    await catchUp();
    const expected = (await pgAllTypes()).map(normalisePg);
    const actual = (await finalRows(ch, config.CLICKHOUSE_DATABASE, `${S()}__all_types`, "id")).map(normaliseCh);
    expect(expected.map((r) => r.id)).toEqual(["-9223372036854775808", "1", "2", "5"]);
    expect(actual).toHaveLength(expected.length);
    for (let i = 0; i < expected.length; i++) {
      const exp = expected[i] as Record<string, unknown>;
      const act = actual[i] as Record<string, unknown>;
      for (const col of Object.keys(exp)) {
        expect({ id: exp.id, col, value: act[col] }).toEqual({ id: exp.id, col, value: exp[col] });
      }
    }
  });

  test("ClickHouse column types follow the mapping (Nullable except keys, Decimal(p,s), DateTime64(6,'UTC'))", async () => {
    const cols = await queryRows<{ name: string; type: string }>(
      ch,
      "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}",
      { db: config.CLICKHOUSE_DATABASE, t: `${S()}__all_types` },
    );
    const types = Object.fromEntries(cols.map((c) => [c.name, c.type]));
    expect(types).toMatchObject({
      id: "Int64",
      n12: "Nullable(Decimal(12, 2))",
      n: "Nullable(String)",
      nbig: "Nullable(Decimal(40, 10))",
      tstz: "Nullable(DateTime64(6, 'UTC'))",
      u: "Nullable(UUID)",
      ai: "Variant(Array(Nullable(Int32)))",
      e: "LowCardinality(Nullable(String))",
      _version: "UInt64",
      _deleted: "UInt8",
      _commit_ts: "DateTime64(6, 'UTC')",
      _lsn: "UInt64",
    });
    const engine = await queryRows<{ engine_full: string; sorting_key: string }>(
      ch,
      "SELECT engine_full, sorting_key FROM system.tables WHERE database = {db:String} AND name = {t:String}",
      { db: config.CLICKHOUSE_DATABASE, t: `${S()}__trunc` },
    );
    expect(engine[0]?.engine_full).toMatch(/^ReplacingMergeTree\(_version, _deleted\)/);
    expect(engine[0]?.sorting_key).toBe("k1, k2");
  });

  test("an unchanged TOASTed value survives updates that do not touch it (across batches and within one)", async () => {
    await cap.pool.query(
      `INSERT INTO ${S()}.toasty SELECT 1, string_agg(md5(random()::text), ''), 1 FROM generate_series(1, 4000)`,
    );
    await catchUp();
    await cap.pool.query(`UPDATE ${S()}.toasty SET n = 2 WHERE id = 1`);
    // Same key inserted and updated in one go: the placeholder is resolved from the batch itself.
    await cap.pool.query(
      `INSERT INTO ${S()}.toasty SELECT 2, string_agg(md5(random()::text), ''), 1 FROM generate_series(1, 4000)`,
    );
    await cap.pool.query(`UPDATE ${S()}.toasty SET n = 3 WHERE id = 2`);
    await cap.pool.query(`UPDATE ${S()}.toasty SET n = 4 WHERE id = 2`);
    await catchUp();
    const pg = (await cap.pool.query(`SELECT id, big, n FROM ${S()}.toasty ORDER BY id`)).rows;
    const chRows = await finalRows(ch, config.CLICKHOUSE_DATABASE, `${S()}__toasty`, "id");
    expect(pg[0].big.length).toBe(128_000);
    expect(chRows).toEqual(pg);
  });

  test("a column added with ALTER TABLE appears; old rows show the default", async () => {
    await cap.pool.query(
      `ALTER TABLE ${S()}.evolving ADD COLUMN score int, ADD COLUMN note text NOT NULL DEFAULT 'n/a'`,
    );
    await cap.pool.query(`INSERT INTO ${S()}.evolving VALUES (3, 'three', 5, 'new')`);
    await catchUp();
    const chRows = await finalRows(ch, config.CLICKHOUSE_DATABASE, `${S()}__evolving`, "id");
    expect(chRows).toEqual([
      { id: 1, a: "one", score: null, note: "" },
      { id: 2, a: "two", score: null, note: "" },
      { id: 3, a: "three", score: 5, note: "new" },
    ]);
    await cap.pool.query(`UPDATE ${S()}.evolving SET score = 9 WHERE id = 1`);
    await catchUp();
    const pg = (await cap.pool.query(`SELECT id, a, score, note FROM ${S()}.evolving ORDER BY id`)).rows;
    expect(await finalRows(ch, config.CLICKHOUSE_DATABASE, `${S()}__evolving`, "id")).toEqual(
      pg.map((r) => (r.id === 2 ? { ...r, note: "" } : r)),
    );
  });

  test("truncate clears the table's rows; rows inserted after it stay", async () => {
    await catchUp();
    expect(await finalRows(ch, config.CLICKHOUSE_DATABASE, `${S()}__trunc`, "k1")).toHaveLength(2);
    await cap.pool.query(`TRUNCATE ${S()}.trunc`);
    await cap.pool.query(`INSERT INTO ${S()}.trunc VALUES (3, 'c', 'z')`);
    await catchUp();
    const pg = (await cap.pool.query(`SELECT k1, k2, v FROM ${S()}.trunc ORDER BY k1`)).rows;
    expect(pg).toEqual([{ k1: 3, k2: "c", v: "z" }]);
    expect(await finalRows(ch, config.CLICKHOUSE_DATABASE, `${S()}__trunc`, "k1")).toEqual(pg);
  });

  test("poison messages go to the DLQ with reason and original bytes; later rows are still projected", async () => {
    const env = stackEnv();
    const kafka = createKafka(env.KAFKA_BROKERS.split(","), "test-poison");
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: cap.topic("evolving"),
      messages: [
        { key: "k", value: "this is not json {" },
        { key: null, value: JSON.stringify({ hello: "world" }) },
      ],
    });
    await producer.disconnect();
    await cap.pool.query(`INSERT INTO ${S()}.evolving VALUES (4, 'after poison', 1, 'ok')`);
    await catchUp();
    const rows = await finalRows(ch, config.CLICKHOUSE_DATABASE, `${S()}__evolving`, "id");
    expect(rows.find((r) => r.id === 4)).toEqual({ id: 4, a: "after poison", score: 1, note: "ok" });

    const consumer = kafka.consumer({ groupId: `dlq-reader-${cap.id}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [config.DLQ_TOPIC], fromBeginning: true });
    const seen: { value: string; reason: string; kind: string; topic: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`DLQ had ${seen.length} messages`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push({
            value: message.value?.toString() ?? "",
            reason: message.headers?.["dlq.reason"]?.toString() ?? "",
            kind: message.headers?.["dlq.kind"]?.toString() ?? "",
            topic: message.headers?.["dlq.topic"]?.toString() ?? "",
          });
          if (seen.length >= 2) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    expect(seen[0]).toMatchObject({ value: "this is not json {", kind: "not-json", topic: cap.topic("evolving") });
    expect(seen[0]?.reason).toMatch(/value is not JSON/);
    expect(seen[1]).toMatchObject({ value: JSON.stringify({ hello: "world" }), kind: "not-envelope" });

    const app = projectorHttpApp(projector);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toMatch(/sidecar_projector_dlq_total\{reason="not-json"\} [1-9]/);
    expect((await app.request("/ready")).status).toBe(200);
    expect((await app.request("/health")).status).toBe(200);
  });

  test("progress per table and the watermark are stored in ClickHouse", async () => {
    await catchUp();
    const w = projector.watermark();
    expect(w).toBeDefined();
    // Where a token's wait goes, as gauges: Connect's committed offset and the published watermark, in seconds behind now.
    const scraped = await (await projectorHttpApp(projector).request("/metrics")).text();
    for (const name of ["source_offset_lag_seconds", "watermark_lag_seconds", "end_to_end_lag_seconds"]) {
      const m = new RegExp(`^sidecar_projector_${name} (\\S+)$`, "m").exec(scraped);
      expect(m, name).not.toBeNull();
      expect(Number(m?.[1]), name).toBeGreaterThan(-1);
      expect(Number(m?.[1]), name).toBeLessThan(60); // heartbeats every 200 ms keep all three fresh
    }
    await new Promise((r) => setTimeout(r, config.PROJECTOR_PROGRESS_INTERVAL_MS * 2 + 200));
    const rows = await queryRows<{ table: string; last_lsn: string; last_commit_ts: string }>(
      ch,
      `SELECT table, last_lsn, last_commit_ts FROM \`${config.CLICKHOUSE_DATABASE}\`.${PROGRESS_TABLE} FINAL ORDER BY table`,
    );
    const byTable = Object.fromEntries(rows.map((r) => [r.table, r]));
    expect(Object.keys(byTable)).toEqual(expect.arrayContaining([WATERMARK_ROW, ...tables.map((t) => `${S()}__${t}`)]));
    expect(BigInt(byTable[WATERMARK_ROW]?.last_lsn ?? "0")).toBeGreaterThanOrEqual(w?.lsn ?? 1n);
    // Per-table progress: the LSN of the newest applied change of that table, with its commit time.
    const lastToasty = BigInt(byTable[`${S()}__toasty`]?.last_lsn ?? "0");
    expect(lastToasty).toBeGreaterThan(0n);
    expect(lastToasty).toBeLessThanOrEqual(w?.lsn ?? 0n);
    expect(byTable[`${S()}__toasty`]?.last_commit_ts).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
    // Each projected table's own watermark (for a read API in its own process): at least the global one written.
    for (const t of tables) {
      const own = byTable[`${WATERMARK_ROW}:${S()}__${t}`];
      expect(own, t).toBeDefined();
      expect(BigInt(own?.last_lsn ?? "0")).toBeGreaterThanOrEqual(w?.lsn ?? 1n);
    }
  });

  test("replay from offset 0 leaves FINAL unchanged", async () => {
    await catchUp();
    const before: Record<string, unknown[]> = {};
    for (const t of tables) before[t] = await finalRows(ch, config.CLICKHOUSE_DATABASE, `${S()}__${t}`, orderBy[t]);
    expect(Object.values(before).every((rows) => rows.length > 0)).toBe(true);
    await projector.stop();
    const admin = createKafka(stackEnv().KAFKA_BROKERS.split(","), "test-reset").admin();
    await admin.connect();
    for (const t of [...tables.map((x) => cap.topic(x)), cap.heartbeatTopic]) {
      await admin.resetOffsets({ groupId: config.PROJECTOR_GROUP, topic: t, earliest: true });
    }
    await admin.disconnect();
    projector = await startProjector(config, { clickhouse: ch, log });
    await catchUp();
    for (const t of tables) {
      expect({ t, rows: await finalRows(ch, config.CLICKHOUSE_DATABASE, `${S()}__${t}`, orderBy[t]) }).toEqual({
        t,
        rows: before[t],
      });
    }
  });
});
