import { canonical, type ValueKind } from "../attach/canonical.js";
import { attachNames, parseTableList, type TableRef } from "../attach/tables.js";
import {
  type CanonicalRow,
  chRows,
  compareOrdered,
  emptyVerification,
  type ProjectionReader,
  type TableVerification,
  type VerifyOptions,
  type VerifyReport,
} from "../attach/verify.js";
import type { ColumnSpec } from "../cdc/table.js";
import type { MysqlDeps } from "./attach.js";
import { waitForBinlog } from "./binlog.js";
import { BINARY_TYPES, type MysqlColumn, mysqlShape, readMysqlCatalog } from "./catalog.js";
import { capturedTables } from "./connector.js";
import { type MysqlPool, quoteMy } from "./source.js";

/**
 * verify for a MySQL/MariaDB attachment: the Postgres verify's comparison (src/attach/verify.ts,
 * compareOrdered) fed with MySQL rows. MySQL renders each value in SQL as the text the canonical
 * form expects (hex for bytes, bits as '0101…', TIMESTAMP in UTC), read in one consistent snapshot
 * in primary-key order, keyset chunks; ClickHouse is read `FINAL WHERE _deleted = 0` as for Postgres.
 */
interface MyPlan {
  name: string;
  kind: ValueKind;
  /** SQL rendering the column's canonical text. */
  select: string;
  /** Order expression: bytes for text keys, as ClickHouse orders String. */
  order: string;
  spec: ColumnSpec;
}

const INTS = new Set(["tinyint", "smallint", "mediumint", "int", "bigint", "year"]);
const TEXTUAL = new Set(["char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"]);

function planMy(c: MysqlColumn, spec: ColumnSpec): MyPlan {
  const q = quoteMy(c.name);
  const plan = (kind: ValueKind, select = q, order = q) => ({ name: c.name, kind, select, order, spec });
  if (INTS.has(c.dataType)) return plan("int", `CAST(${q} AS CHAR)`);
  if (BINARY_TYPES.has(c.dataType)) return plan("bytea", `LOWER(HEX(${q}))`, `CAST(${q} AS BINARY)`);
  // CAST: the client would parse a JSON column; its text is what Debezium sends.
  if (TEXTUAL.has(c.dataType)) return plan("text", `CAST(${q} AS CHAR)`, `CAST(${q} AS BINARY)`);
  switch (c.dataType) {
    case "decimal":
      return plan("decimal", `CAST(${q} AS CHAR)`);
    case "float":
      return plan("float32", `CAST(${q} AS DOUBLE)`);
    case "double":
    case "real":
      return plan("float64");
    case "bit":
      return c.bits === 1 ? plan("bit1", `${q} + 0`) : plan("text", `LPAD(BIN(${q}), ${c.bits}, '0')`);
    case "date":
      return plan("date", `CAST(${q} AS CHAR)`);
    case "time":
      return plan("time", `CAST(${q} AS CHAR)`);
    case "datetime":
    case "timestamp":
      // The session reads in UTC (src/mysql/source.ts): TIMESTAMP as Debezium sends it.
      return plan("timestamp", `CAST(${q} AS CHAR)`);
    default:
      return plan("text", `CAST(${q} AS CHAR)`, `CAST(${q} AS BINARY)`);
  }
}

/** The source's rows in key order, keyset chunks, inside one consistent snapshot. */
async function* mysqlRows(pool: MysqlPool, ref: TableRef, cols: MyPlan[], keys: MyPlan[], chunk: number) {
  const conn = await pool.getConnection();
  try {
    await conn.query("SET time_zone = '+00:00'");
    await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    const select = cols.map((c, i) => `${c.select} AS c${i}`).join(", ");
    const keyAt = keys.map((k) => cols.indexOf(k));
    const from = `${quoteMy(ref.schema)}.${quoteMy(ref.table)}`;
    const order = keys.map((k) => k.order).join(", ");
    // The cursor compares the order expressions with the last row's raw key values.
    const raw = keys.map((k, i) => `${quoteMy(k.name)} AS k${i}`).join(", ");
    let last: unknown[] | undefined;
    for (;;) {
      const where = last
        ? `WHERE (${order}) > (${keys.map((k) => k.order.replace(quoteMy(k.name), "?")).join(", ")})`
        : "";
      const [rows] = await conn.query(
        {
          sql: `SELECT ${select}, ${raw} FROM ${from} ${where} ORDER BY ${order} LIMIT ${chunk}`,
          rowsAsArray: false,
        },
        last ?? [],
      );
      const list = rows as Record<string, unknown>[];
      for (const r of list) yield Object.fromEntries(cols.map((c, i) => [c.name, r[`c${i}`]]));
      if (list.length < chunk) break;
      const end = list[list.length - 1] as Record<string, unknown>;
      last = keyAt.map((_, i) => end[`k${i}`]);
    }
    await conn.query("COMMIT");
  } finally {
    conn.release();
  }
}

export async function verifyMysqlTable(
  pool: MysqlPool,
  reader: ProjectionReader,
  ref: TableRef,
  opts: VerifyOptions = {},
): Promise<TableVerification> {
  const base = emptyVerification(ref);
  const cat = await readMysqlCatalog(pool, ref);
  if (!cat.primaryKey.length) return { ...base, problem: "no primary key: not projected" };
  const shape = mysqlShape(cat);
  base.target = shape.target;
  const cols = cat.columns.map((c) => planMy(c, shape.columns.find((s) => s.name === c.name) as ColumnSpec));
  const keys = cat.primaryKey.map((k) => cols.find((c) => c.name === k) as MyPlan);
  const keyIdx = keys.map((k) => cols.indexOf(k));
  const toCanon = (r: Record<string, unknown>): CanonicalRow => {
    const values = cols.map((c) => canonical(c.kind, r[c.name]));
    return { values, key: keyIdx.map((i) => values[i] ?? null) };
  };
  const chunk = opts.chunkRows ?? 10_000;
  async function* canon(rows: AsyncIterable<Record<string, unknown>>) {
    for await (const r of rows) yield toCanon(r);
  }
  return compareOrdered(
    base,
    cols,
    keys,
    canon(mysqlRows(pool, ref, cols, keys, chunk)),
    canon(chRows(reader, shape.target, cols, keys, chunk)),
    opts.examples ?? 10,
  );
}

export async function verifyMysqlTables(
  pool: MysqlPool,
  reader: ProjectionReader,
  tables: TableRef[],
  opts: VerifyOptions & { waited?: { position: string; reached: boolean }; label?: string } = {},
): Promise<VerifyReport> {
  const out: TableVerification[] = [];
  for (const t of tables) out.push(await verifyMysqlTable(pool, reader, t, opts));
  return {
    tables: out,
    ok: out.every((t) => t.ok),
    waitedForLsn: opts.waited?.position,
    projectionBehind: opts.waited ? !opts.waited.reached : false,
    source: opts.label ?? "MySQL",
  };
}

/** verify: wait for the projection to reach the server's binlog position, then compare every table. */
export async function verifyMysqlAttachment(
  deps: Pick<MysqlDeps, "pool" | "source" | "admin" | "connect" | "config">,
  reader: ProjectionReader,
  name: string,
  opts: { tables?: string; examples: number; waitMs: number; chunkRows: number },
) {
  const connector = attachNames(name).connector;
  const tables = opts.tables ? parseTableList(opts.tables) : await capturedTables(deps.connect, connector);
  if (!tables?.length) throw new Error(`attachment ${name} has no tables (no connector ${connector})`);
  const waited = await waitForBinlog(
    { ...deps, connectUrl: deps.config.KAFKA_CONNECT_URL, groupId: deps.config.PROJECTOR_GROUP },
    connector,
    tables.map((t) => `${deps.config.TOPIC_PREFIX}.${t.schema}.${t.table}`),
    opts.waitMs,
  );
  return verifyMysqlTables(deps.pool, reader, tables, {
    ...opts,
    waited,
    label: deps.source.flavor === "mariadb" ? "MariaDB" : "MySQL",
  });
}
