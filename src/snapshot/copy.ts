import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { type CatalogTable, catalogShape, readCatalog } from "../attach/catalog.js";
import { quoteTable, type TableRef, tableName } from "../attach/tables.js";
import type { TableShape } from "../cdc/table.js";
import type { ClickHouseSink } from "../projector/sink.js";
import type { PgPool } from "../shared/postgres.js";
import { copyStatement, type RenderedTable, renderTable, SNAPSHOT_SESSION_SQL, type SnapshotMeta } from "./render.js";
import { watchTruncates } from "./truncate-watch.js";

/**
 * The snapshot copy: every table (a partitioned one leaf by leaf, a big one in block ranges) read
 * inside one exported snapshot by `workers` sessions at once, each `COPY (SELECT …) TO STDOUT`
 * cut at line ends into chunks of about 8 MiB and inserted into ClickHouse as they come (one
 * insert in flight per session while the next chunk is read). No JavaScript touches a row.
 */
export interface CopyRequest {
  databaseUrl: string;
  snapshotName: string;
  meta: SnapshotMeta;
  tables: TableRef[];
  database: string;
  /** Parallel Postgres sessions (default 2). */
  workers?: number;
}

export interface CopyResult {
  /** Rows copied per table (schema.table). */
  rows: Record<string, number>;
  /** Rows left out per table: values the projection refuses (see render.ts). */
  refused: Record<string, { rows: number; columns: string[] } & TableRef>;
  /** Tables this copy cannot render exactly, with the columns why: snapshot them another way. */
  unsupported: Record<string, string[]>;
}

interface Unit {
  table: string;
  target: string;
  sql: string;
}

interface Planned {
  ref: TableRef;
  shape: TableShape;
  rendered: RenderedTable;
  units: Unit[];
}

const CHUNK_BYTES = 8 << 20;
/** Leaves above this many 8 KiB blocks (64 MiB) are read in block ranges by several sessions. */
const SPLIT_BLOCKS = 8192;

async function openInSnapshot(url: string, snapshot: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: "cqrs-sidecar snapshot" });
  c.on("error", () => {});
  await c.connect();
  try {
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await c.query(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "")}'`);
    for (const s of SNAPSHOT_SESSION_SQL) await c.query(s);
    return c;
  } catch (err) {
    // A snapshot no longer exported (its slot's connection closed): no session left behind in the source.
    await c.end().catch(() => undefined);
    throw err;
  }
}

/** Leaves of a table (itself when not partitioned) with their size in blocks. */
async function leaves(c: pg.Client, ref: TableRef): Promise<{ ref: TableRef; blocks: number }[]> {
  const r = await c.query<{ schema: string; table: string; blocks: string }>(
    `SELECT n.nspname AS schema, k.relname AS table,
            (pg_relation_size(k.oid) / current_setting('block_size')::int)::bigint AS blocks
       FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
      WHERE k.relkind <> 'p' AND (k.oid = $1::regclass OR k.oid IN (SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf))`,
    [quoteTable(ref)],
  );
  return r.rows.map((x) => ({ ref: { schema: x.schema, table: x.table }, blocks: Number(x.blocks) }));
}

/** Block ranges of a leaf: the last one open-ended. */
export function blockRanges(blocks: number, parts: number): (string | undefined)[] {
  if (parts <= 1 || blocks <= SPLIT_BLOCKS) return [undefined];
  const n = Math.min(parts, Math.ceil(blocks / SPLIT_BLOCKS) * 2);
  const step = Math.ceil(blocks / n);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const lo = i * step;
    const hi = (i + 1) * step;
    out.push(i === n - 1 ? `ctid >= '(${lo},0)'::tid` : `ctid >= '(${lo},0)'::tid AND ctid < '(${hi},0)'::tid`);
  }
  return out;
}

async function plan(c: pg.Client, req: CopyRequest, result: CopyResult): Promise<Planned[]> {
  const out: Planned[] = [];
  const parts = 4 * (req.workers ?? 2);
  for (const ref of req.tables) {
    const cat: CatalogTable = await readCatalog(c as unknown as PgPool, ref);
    const rendered = renderTable(cat, req.meta);
    if ("unsupported" in rendered) {
      result.unsupported[tableName(ref)] = rendered.unsupported;
      continue;
    }
    const shape = catalogShape(cat);
    const units: Unit[] = [];
    let refused = 0;
    const refusedIn = new Set<string>();
    for (const leaf of await leaves(c, ref)) {
      for (const where of blockRanges(leaf.blocks, parts))
        units.push({
          table: tableName(ref),
          target: shape.target,
          sql: copyStatement(rendered.select(leaf.ref, where)),
        });
      const count = rendered.refusedCount(leaf.ref);
      if (!count) continue;
      const row = (await c.query<Record<string, string>>(count)).rows[0]!;
      refused += Number(row.n);
      for (const col of rendered.refusing) if (Number(row[`refused:${col}`]) > 0) refusedIn.add(col);
    }
    if (refused) result.refused[tableName(ref)] = { rows: refused, columns: [...refusedIn], ...ref };
    out.push({ ref, shape, rendered, units });
  }
  return out;
}

function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/** One unit: COPY bytes → line-aligned chunks → inserts, one in flight while the next chunk is read. */
async function copyUnit(c: pg.Client, unit: Unit, sink: ClickHouseSink, onRows: (n: number) => void) {
  const stream = c.query(copyTo(unit.sql));
  let parts: Buffer[] = [];
  let size = 0;
  let pending: Promise<void> | undefined;
  const flush = async (buf: Buffer) => {
    await pending;
    const rows = countLines(buf);
    pending = sink.insertJsonLines(unit.target, buf).then(() => onRows(rows));
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    parts.push(chunk);
    size += chunk.length;
    if (size < CHUNK_BYTES) continue;
    const all = Buffer.concat(parts, size);
    const cut = all.lastIndexOf(10) + 1;
    await flush(all.subarray(0, cut));
    parts = [all.subarray(cut)];
    size = all.length - cut;
  }
  if (size > 0) await flush(Buffer.concat(parts, size));
  await pending;
}

/**
 * Copies the tables into ClickHouse (creating their tables from the catalog first). `onRows` is
 * called as rows land (table, rows added). Rows a table held before (an earlier attachment) that
 * the snapshot does not hold are deleted; a truncate streamed meanwhile is applied again.
 */
export async function copySnapshot(
  req: CopyRequest,
  sink: ClickHouseSink,
  onRows: (table: string, rows: number) => void = () => {},
): Promise<CopyResult> {
  const result: CopyResult = { rows: {}, refused: {}, unsupported: {} };
  const planner = await openInSnapshot(req.databaseUrl, req.snapshotName);
  const workers: pg.Client[] = [planner];
  try {
    await sink.init(); // the progress table gets a row per copied table
    const planned = await plan(planner, req, result);
    const stops = new Map<string, { stop: () => bigint | undefined; hadRows: boolean }>();
    for (const p of planned) {
      await sink.ensureTable(p.shape);
      const hadRows = await sink.hasRows(p.shape.target);
      stops.set(p.shape.target, { stop: watchTruncates(`${req.database}.${p.shape.target}`), hadRows });
      result.rows[tableName(p.ref)] = 0;
    }
    const queue = planned.flatMap((p) => p.units);
    for (let i = 1; i < Math.min(req.workers ?? 2, queue.length); i++)
      workers.push(await openInSnapshot(req.databaseUrl, req.snapshotName));
    const count = (table: string, n: number) => {
      result.rows[table] = (result.rows[table] ?? 0) + n;
      onRows(table, n);
    };
    await Promise.all(
      workers.map(async (c) => {
        for (let u = queue.shift(); u; u = queue.shift()) await copyUnit(c, u, sink, (n) => count(u!.table, n));
      }),
    );
    for (const p of planned) await settle(p.shape, stops.get(p.shape.target)!, req.meta.version, sink);
    return result;
  } finally {
    for (const c of workers) await c.end().catch(() => undefined);
  }
}

/** After a table's copy: rows of an earlier projection the snapshot did not rewrite are gone; a truncate seen meanwhile is applied again. */
export async function settle(
  shape: TableShape,
  watch: { stop: () => bigint | undefined; hadRows: boolean },
  version: bigint,
  sink: ClickHouseSink,
) {
  const truncatedAt = watch.stop();
  const nowUs = BigInt(Date.now()) * 1000n;
  if (watch.hadRows) await sink.truncate(shape, version, nowUs);
  if (truncatedAt !== undefined) await sink.truncate(shape, truncatedAt, nowUs);
  // Recorded as projected, like a table the projector stored: a table found missing later was dropped.
  await sink.writeProgress(
    [{ table: shape.target, source: `${shape.schema}.${shape.table}`, lsn: version, commitTsUs: nowUs }],
    nowUs,
  );
}
