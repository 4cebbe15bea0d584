import type { Connection } from "mysql2";
import type { PoolConnection } from "mysql2/promise";
import { type TableRef, tableName } from "../attach/tables.js";
import { binlogVersion } from "../cdc/binlog-version.js";
import { ConversionError } from "../cdc/types.js";
import type { ClickHouseSink } from "../projector/sink.js";
import { type CopyResult, settle } from "../snapshot/copy.js";
import { watchTruncates } from "../snapshot/truncate-watch.js";
import { type BinlogPosition, formatBinlog } from "./binlog.js";
import { mysqlShape, readMysqlCatalog } from "./catalog.js";
import { renderMysqlTable } from "./render.js";
import type { MysqlPool } from "./source.js";

/**
 * The sidecar's copy of MySQL/MariaDB tables (docs/attach-mysql.md, "Snapshot"): one session
 * opens a consistent snapshot and reads the binlog position it stands at; each table is read in
 * it as JSON lines the server renders (render.ts), cut into ~8 MiB chunks and inserted into
 * ClickHouse, one insert in flight while the next chunk is read. Every row is versioned at that
 * position: each change the connector streams after it is higher, each one before it is in the
 * copy (src/cdc/binlog-version.ts). The connector must be streaming from a position at or before
 * it (attach waits for its first offset), so nothing falls between the two.
 */
export interface MysqlCopyResult extends CopyResult {
  position: string;
}

const CHUNK_BYTES = 8 << 20;

export async function copyMysqlSnapshot(
  pool: MysqlPool,
  tables: TableRef[],
  sink: ClickHouseSink,
  database: string,
  onRows: (table: string, rows: number) => void = () => {},
): Promise<MysqlCopyResult> {
  const result: MysqlCopyResult = { rows: {}, refused: {}, unsupported: {}, position: "" };
  const catalogs = await Promise.all(tables.map((t) => readMysqlCatalog(pool, t)));
  const conn = await pool.getConnection();
  try {
    await conn.query("SET time_zone = '+00:00'");
    const { position, commitTs } = await consistentSnapshot(conn);
    result.position = formatBinlog(position);
    const version = binlogVersion({ file: position.file, pos: position.pos, row: 0 });
    await sink.init();
    for (const cat of catalogs) {
      let shape: ReturnType<typeof mysqlShape>;
      try {
        shape = mysqlShape(cat);
      } catch (err) {
        if (err instanceof ConversionError) continue; // no primary key: not projected (preflight said so)
        throw err;
      }
      const name = tableName(cat.ref);
      const rendered = renderMysqlTable(cat, { version, lsn: version, commitTs });
      await sink.ensureTable(shape);
      const watch = { stop: watchTruncates(`${database}.${shape.target}`), hadRows: await sink.hasRows(shape.target) };
      result.rows[name] = 0;
      await copyTable(conn, rendered.select, (body, rows) =>
        sink.insertJsonLines(shape.target, body).then(() => {
          result.rows[name] = (result.rows[name] ?? 0) + rows;
          onRows(name, rows);
        }),
      );
      if (rendered.refusedCount) {
        const [rows] = await conn.query(rendered.refusedCount);
        const n = Number((rows as { n: string }[])[0]?.n ?? 0);
        if (n) result.refused[name] = { rows: n, columns: rendered.refusing, ...cat.ref };
      }
      await settle(shape, watch, version, sink);
    }
    await conn.query("COMMIT");
    return result;
  } finally {
    conn.release();
  }
}

/**
 * A consistent snapshot and the binlog position it stands at. MariaDB reports that position for
 * the snapshot itself (binlog_snapshot_file/position), no lock needed. MySQL does not: a global
 * read lock (RELOAD) holds the binlog still while the snapshot starts and the position is read.
 */
async function consistentSnapshot(conn: PoolConnection): Promise<{ position: BinlogPosition; commitTs: string }> {
  await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
  const [status] = await conn.query("SHOW STATUS LIKE 'binlog_snapshot_%'");
  const vars = new Map((status as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name, r.Value]));
  let position: BinlogPosition;
  if (vars.get("binlog_snapshot_file")) {
    position = { file: vars.get("binlog_snapshot_file") as string, pos: Number(vars.get("binlog_snapshot_position")) };
  } else {
    await conn.query("ROLLBACK");
    await conn.query("FLUSH TABLES WITH READ LOCK");
    try {
      await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
      const [rows] = await conn.query("SHOW MASTER STATUS").catch(() => conn.query("SHOW BINARY LOG STATUS"));
      const r = (rows as { File: string; Position: number }[])[0];
      if (!r) throw new Error("the server's binary log is off (SHOW MASTER STATUS is empty)");
      position = { file: r.File, pos: Number(r.Position) };
    } finally {
      await conn.query("UNLOCK TABLES");
    }
  }
  const [now] = await conn.query("SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%d %H:%i:%s.%f') AS ts");
  return { position, commitTs: (now as { ts: string }[])[0]!.ts };
}

/** Streams one SELECT's `line` column into chunks of JSON lines; one insert in flight while the next is read. */
async function copyTable(
  conn: PoolConnection,
  select: string,
  insert: (body: Buffer, rows: number) => Promise<void>,
): Promise<void> {
  // The callback connection under the promise wrapper: only it streams a result.
  const core = (conn as unknown as { connection: Connection }).connection;
  const stream = core.query({ sql: select, rowsAsArray: true }).stream({ highWaterMark: 4096 });
  let lines: string[] = [];
  let size = 0;
  let pending: Promise<void> | undefined;
  const flush = async () => {
    const body = Buffer.from(`${lines.join("\n")}\n`, "utf8");
    const rows = lines.length;
    lines = [];
    size = 0;
    await pending;
    pending = insert(body, rows);
  };
  for await (const [value] of stream as AsyncIterable<[string | Buffer]>) {
    const line = typeof value === "string" ? value : value.toString("utf8"); // a binary-charset result
    lines.push(line);
    size += line.length;
    if (size >= CHUNK_BYTES) await flush();
  }
  if (lines.length) await flush();
  await pending;
}
