import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tableShape, targetTableName } from "../../src/cdc/table.js";
import { queryRows } from "../../src/clickhouse/client.js";
import { addMysqlTables, detachMysql } from "../../src/mysql/attach.js";
import { mysqlShape, readMysqlCatalog } from "../../src/mysql/catalog.js";
import { createTableSql } from "../../src/projector/ddl.js";
import { createMysqlFixture, type MysqlFixture } from "../helpers/mariadb.js";
import { decodeMessage, readSchemaTopic } from "../helpers/schemas.js";

/**
 * The MySQL/MariaDB type matrix on the real stack (MariaDB 10.11, Debezium's MariaDB connector,
 * Kafka, the projector, chDB): snapshot, streaming, updates to NULL and back, deletes, attach --add,
 * TRUNCATE, each ending with verify clean; zero dates land as preflight says and verify shows them.
 * FLOAT and DOUBLE values that need every digit (MariaDB's text protocol prints a FLOAT with 6
 * significant digits: a snapshot read through it stored -158421.171875 as -158421) ride in the
 * MAX and MIN rows (the types' limits) and in two rows of their own.
 */
const COLUMNS = `
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
  i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED, b1 TINYINT(1), bo BOOL,
  de DECIMAL(65,30), dm DECIMAL(10,2) NOT NULL DEFAULT 0, fl FLOAT, db DOUBLE,
  bt BIT(10), bt1 BIT(1), bt64 BIT(64),
  c CHAR(10), vc VARCHAR(100), tx TEXT, lt LONGTEXT, bn BINARY(4), vb VARBINARY(16), bl BLOB,
  d DATE, tm TIME(6), tm0 TIME, dt DATETIME(6), dt3 DATETIME(3), dt0 DATETIME, ts TIMESTAMP(6) NULL DEFAULT NULL,
  yr YEAR, en ENUM('a','b c','ü'), st SET('x','y','z'), js JSON,
  g BIGINT AS (id * 2) VIRTUAL, gs VARCHAR(120) AS (CONCAT(vc, '!')) STORED`;

const NAMES =
  "ti,tiu,si,siu,mi,miu,i,iu,bi,biu,b1,bo,de,dm,fl,db,bt,bt1,bt64,c,vc,tx,lt,bn,vb,bl,d,tm,tm0,dt,dt3,dt0,ts,yr,en,st,js";

const MAX = `127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807,
  18446744073709551615, 1, TRUE, '99999999999999999999999999999999999.999999999999999999999999999999', 12345678.91,
  3.4028234663852886e38, 1.7976931348623157e308, b'1111111111', b'1', b'1111111111111111111111111111111111111111111111111111111111111111',
  'ab', 'héllo 😀', 'text 😀 ∑', REPEAT('long ', 1000), x'00ff0102', x'deadbeef', x'', '2299-12-31',
  '838:59:59.000000', '-00:00:01', '2299-12-31 23:59:59.999999', '2024-01-02 03:04:05.123', '1900-01-01 00:00:00',
  '2038-01-19 03:14:07.999999', 2155, 'ü', 'x,y,z', '{"a": [1, 2.50], "e": "😀"}'`;

const MIN = `-128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0, 0, FALSE,
  '-0.000000000000000000000000000001', -12345678.91, 1.401298464324817e-45, 5e-324, b'0', b'0', b'0', '', '', '', '', x'00000000',
  x'00', x'00ff', '1900-01-01', '-838:59:59.000000', '00:00:00', '1900-01-01 00:00:00.000000',
  '1900-01-01 00:00:00.000', '2000-02-29 12:00:00', '1970-01-01 00:00:01.000000', 1901, 'a', '', 'null'`;

const MID = `7, 8, -9, 10, 11, 12, -13, 14, 15, 9007199254740993, 2, TRUE, '3.141592653589793238462643383279502884197',
  0.01, 0.1, 0.1, b'0000000101', b'1', b'1000000000000000000000000000000000000000000000000000000000000001', 'pad  ',
  'it''s "quoted" \\\\ back', 'line\\nbreak\\ttab', NULL, x'dead', x'0000', x'00', '2024-02-29', '100:00:00.500000',
  '23:59:59', '2024-01-02 03:04:05.654321', '2024-01-02 03:04:05.999', '2024-01-02 03:04:05', NULL, 2024, 'b c',
  'y', '[]'`;

const NULLS = NAMES.split(",")
  .map((n) => (n === "dm" ? "0" : "NULL"))
  .join(", ");

/** A row of NULLs but for its FLOAT and DOUBLE. */
const floats = (fl: string, db: string) =>
  NAMES.split(",")
    .map((n) => ({ dm: "0", fl, db })[n] ?? "NULL")
    .join(", ");

/** The source rows (table `vals`, ids 1..6): MAX, MIN, MID, NULLS (4), and two of floats. */
const VALS = [
  MAX,
  MIN,
  MID,
  NULLS,
  floats("-158421.171875", "3.4028234663852886e38"),
  floats("66923.2734375", "-1.401298464324817e-45"),
];

describe("MySQL/MariaDB type matrix: snapshot, streaming, --add, TRUNCATE, verify", () => {
  let fx: MysqlFixture;
  // Rows 1..6 of a table: the rows of VALS (kept in an unattached table `vals`), and row 7, a
  // TIMESTAMP written in another time zone (stored and projected in UTC).
  const rows = async (table: string, start: number) => {
    await fx.sql(`INSERT INTO ${fx.db}.${table} (id, ${NAMES}) SELECT id + ${start - 1}, ${NAMES} FROM ${fx.db}.vals`);
    const conn = await fx.pool.getConnection();
    await conn.query("SET time_zone = '+05:30'");
    await conn.query(`INSERT INTO ${fx.db}.${table} (id, ts) VALUES (?, '2024-06-01 12:00:00.5')`, [
      start + VALS.length,
    ]);
    conn.release();
  };
  const setFrom = (valsId: number) =>
    `${NAMES.split(",")
      .map((n) => `t.${n} = v.${n}`)
      .join(", ")} WHERE v.id = ${valsId}`;

  beforeAll(async () => {
    fx = await createMysqlFixture("mty");
    await fx.sql(`CREATE TABLE ${fx.db}.vals (id INT PRIMARY KEY, ${COLUMNS})`);
    for (const [id, values] of VALS.entries())
      await fx.sql(`INSERT INTO ${fx.db}.vals (id, ${NAMES}) VALUES (${id + 1}, ${values})`);
    await fx.sql(`CREATE TABLE ${fx.db}.types (id INT PRIMARY KEY, ${COLUMNS})`);
    await fx.sql(`CREATE TABLE ${fx.db}.later (id INT PRIMARY KEY, ${COLUMNS})`);
    await fx.sql(
      `CREATE TABLE ${fx.db}.zero (id INT PRIMARY KEY, dn DATE NULL, dz DATE NOT NULL, dtz DATETIME(6) NOT NULL, tsz TIMESTAMP(6) NULL DEFAULT NULL)`,
    );
    await rows("types", 1);
    await rows("later", 1);
    await fx.sql(
      `INSERT INTO ${fx.db}.zero VALUES (1, '2024-01-01', '2024-01-01', '2024-01-01 00:00:00', '2024-01-01 00:00:00')`,
    );
  }, 180_000);

  afterAll(async () => {
    await fx?.close();
  }, 180_000);

  it("preflight passes on the stack's MariaDB and names how zero dates and date ranges land", async () => {
    await fx.attach(["types", "zero"], { checkOnly: true });
    const text = fx.lines.join("\n");
    expect(text).toMatch(/ok {4}binlog_format = ROW/);
    expect(text).toMatch(/ok {4}user .* may read the binary log \(REPLICATION SLAVE\)/);
    expect(text).toMatch(/warn {2}m_\w+\.zero\.dz date: zero dates .* as 1970-01-01/);
    expect(text).toMatch(/warn {2}m_\w+\.zero\.dn date: zero dates .* as NULL/);
    expect(text).toMatch(/preflight passed/);
  });

  it("snapshot (the sidecar's copy): every type lands exactly (verify clean)", async () => {
    await fx.attach(["types", "zero"]);
    expect(fx.lines.join("\n")).toMatch(/snapshot copied: 8 rows/);
    const report = await fx.expectClean("snapshot");
    expect(report.tables.map((t) => t.postgresRows)).toEqual([7, 1]);
  }, 300_000);

  it("the ClickHouse tables attach creates from the catalog are the ones Debezium's events describe", async () => {
    // The copy's rows never pass through Kafka: one streamed row brings the schema Debezium describes.
    await fx.sql(`INSERT INTO ${fx.db}.types (id, ${NAMES}) SELECT 99, ${NAMES} FROM ${fx.db}.vals WHERE id = 1`);
    await fx.sql(`DELETE FROM ${fx.db}.types WHERE id = 99`);
    for (let i = 0; i < 120 && !(await fx.admin.listTopics()).includes(fx.topic("types")); i++)
      await new Promise((r) => setTimeout(r, 250));
    const schemas = await readSchemaTopic(fx.kafka);
    const consumer = fx.kafka.consumer({ groupId: `mty-ddl-${fx.id}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [fx.topic("types")], fromBeginning: true });
    const first = await new Promise<ReturnType<typeof decodeMessage>>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(decodeMessage(message, schemas)) });
    });
    await consumer.disconnect();
    const ddl = { database: "sidecar" };
    const fromEvent = createTableSql(
      ddl,
      tableShape(first.schema, first.table, first.rowSchema as never, first.key?.schema),
    );
    const fromCatalog = createTableSql(ddl, mysqlShape(await readMysqlCatalog(fx.pool, fx.ref("types"))));
    expect(fromCatalog).toBe(fromEvent);
    expect(fromEvent).toMatch(/`biu` Nullable\(UInt64\)/);
    expect(fromEvent).toMatch(/`de` Nullable\(Decimal\(65, 30\)\)/);
  }, 120_000);

  it("streaming: inserts, updates to NULL and back, deletes (verify clean after each)", async () => {
    await rows("types", 101);
    await fx.expectClean("streamed inserts");
    // The same values copied (ids 1..7, the sidecar's copy) and streamed (101..107, Debezium): stored alike
    // (but g, id * 2).
    const stored = (from: number) =>
      queryRows<Record<string, unknown>>(
        fx.ch,
        `SELECT * EXCEPT (id, g, _version, _lsn, _commit_ts, _deleted) FROM ${fx.config.CLICKHOUSE_DATABASE}.${targetTableName(fx.db, "types")} FINAL
          WHERE id BETWEEN {from:Int32} AND {from:Int32} + 6 ORDER BY id`,
        { from },
      );
    const copied = await stored(1);
    expect(copied).toHaveLength(7);
    expect(copied).toEqual(await stored(101));
    const update = (ids: string, valsId: number) =>
      fx.sql(`UPDATE ${fx.db}.types t JOIN ${fx.db}.vals v SET ${setFrom(valsId)} AND t.id IN (${ids})`);
    await update("1, 101", 4);
    await fx.expectClean("updates to NULL");
    await update("1, 101", 1);
    await update("104", 3);
    await fx.sql(`DELETE FROM ${fx.db}.types WHERE id IN (2, 102)`);
    const report = await fx.expectClean("updates back and deletes");
    expect(report.tables.find((t) => t.table.endsWith(".types"))?.postgresRows).toBe(12);
  }, 300_000);

  it("attach --add: a table added later is copied while the others stream", async () => {
    await addMysqlTables(fx.deps(), { name: fx.name, tables: [fx.ref("later")], stallMs: 120_000 });
    await fx.sql(`UPDATE ${fx.db}.types SET vc = 'during --add' WHERE id = 3`);
    await fx.sql(`UPDATE ${fx.db}.later SET vc = 'changed after the signal' WHERE id = 3`);
    const report = await fx.expectClean("attach --add");
    expect(report.tables.map((t) => t.table.split(".")[1])).toEqual(["types", "zero", "later"]);
  }, 300_000);

  it("TRUNCATE empties the projection; rows written after it land", async () => {
    await fx.sql(`TRUNCATE TABLE ${fx.db}.types`);
    let report = await fx.expectClean("truncate");
    expect(report.tables.find((t) => t.table.endsWith(".types"))?.clickhouseRows).toBe(0);
    await rows("types", 201);
    report = await fx.expectClean("inserts after truncate");
    expect(report.tables.find((t) => t.table.endsWith(".types"))?.clickhouseRows).toBe(7);
  }, 300_000);

  it("zero dates land as preflight says, and verify reports them as different", async () => {
    const conn = await fx.pool.getConnection();
    await conn.query("SET SESSION sql_mode = ''");
    await conn.query(
      `INSERT INTO ${fx.db}.zero VALUES (2, '0000-00-00', '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00')`,
    );
    conn.release();
    let report = await fx.verify(["zero"]);
    for (let i = 0; i < 10 && report.tables[0]?.clickhouseRows !== 2; i++) report = await fx.verify(["zero"]);
    const zero = report.tables[0];
    expect(zero?.different).toBe(1);
    expect(zero?.examples[0]?.postgres).toEqual({
      dn: "0000-00-00",
      dz: "0000-00-00",
      dtz: "0000-00-00 00:00:00.000000",
      tsz: "0000-00-00 00:00:00.000000",
    });
    expect(zero?.examples[0]?.clickhouse).toEqual({
      dn: null,
      dz: "1970-01-01",
      dtz: "1970-01-01 00:00:00.000000",
      tsz: "1970-01-01 00:00:00.000000",
    });
  }, 120_000);

  it("detach keeps the data; attaching again over it removes rows deleted meanwhile and updates the others", async () => {
    await detachMysql(fx.deps(), fx.name);
    await fx.sql(`DELETE FROM ${fx.db}.types WHERE id = 201`);
    await fx.sql(`UPDATE ${fx.db}.types SET vc = 'changed while detached' WHERE id = 203`);
    await fx.attach(["types"]);
    const report = await fx.expectClean("attach again over kept data");
    expect(report.tables.find((t) => t.table.endsWith(".types"))?.clickhouseRows).toBe(6);
  }, 300_000);
});
