import { createHash } from "node:crypto";
import type { ColumnSpec } from "../cdc/table.js";
import { type ClickHouse, quoteIdent as chq, queryRows } from "../clickhouse/client.js";
import { PROGRESS_TABLE, WATERMARK_ROW } from "../projector/ddl.js";
import { formatLsn, parseLsn } from "../shared/lsn.js";
import type { PgPool } from "../shared/postgres.js";
import { type ColumnPlan, canonicalValue, compareKeys, planColumn } from "./canonical.js";
import { type CatalogTable, catalogShape, readCatalog } from "./catalog.js";
import { publicationTables } from "./source-setup.js";
import { attachNames, quoteIdent as pgq, quoteTable, type TableRef, tableName } from "./tables.js";

/**
 * verify: every attached table compared between Postgres and ClickHouse, row by row.
 *
 * Both sides are read in primary-key order, in keyset chunks (memory stays bounded whatever the
 * table size), each value turned into one canonical text per column type, then merged by key:
 * missing (in Postgres, not in ClickHouse), extra (the other way) and different rows are counted
 * and the first examples kept. A per-table checksum (sha256 over the canonical rows in key order,
 * primary key included) is computed for each side.
 *
 * Postgres is read in one REPEATABLE READ snapshot with every value as its text output (UTC,
 * ISO dates, iso_8601 intervals, hex bytea), arrays as JSON arrays of element texts. ClickHouse is
 * read `FINAL WHERE _deleted = 0` (64-bit integers and decimals as strings), either directly or
 * through the read API's keyset endpoint when the embedded data directory belongs to the running
 * sidecar. The canonical forms follow the projector's type mapping (src/cdc/types.ts).
 *
 * Order: ClickHouse orders by its sorting key natively, so Postgres orders the same way: text keys
 * `COLLATE "C"` (bytes, like ClickHouse's String), enum keys by label, uuid keys by their second
 * then first 8 bytes (ClickHouse's UUID order); numbers, dates and times natively.
 */

// ---------------------------------------------------------------------------
// Reading

export interface CanonicalRow {
  key: (string | null)[];
  values: (string | null)[];
}

interface Page {
  rows: Record<string, unknown>[];
  done: boolean;
}

/** Postgres: SQL per column and per key part (order expression, cast of the cursor value). */
function pgSelect(col: ColumnPlan): string {
  const id = pgq(col.name);
  if (col.array) {
    // unnest flattens: a multi-dimensional array is read as its text instead, so its shape is compared too.
    return `CASE WHEN ${id} IS NULL THEN NULL WHEN array_ndims(${id}) > 1 THEN to_json(${id}::text)::text ELSE (SELECT coalesce(json_agg(x.v::text ORDER BY x.o), '[]'::json)::text FROM unnest(${id}) WITH ORDINALITY AS x(v, o)) END AS ${id}`;
  }
  if (col.catalog.baseType === "money") return `${id}::numeric::text AS ${id}`;
  return id;
}

interface PgKeyPart {
  expr: string;
  param: (raw: string, n: number) => { sql: string; value: string };
}

function pgKeyParts(col: ColumnPlan): PgKeyPart[] {
  const id = pgq(col.name);
  const chBase = col.spec.type.baseSql;
  if (col.kind === "uuid") {
    return [
      {
        expr: `(substr(${id}::text, 20) COLLATE "C")`,
        param: (raw, n) => ({ sql: `($${n}::text COLLATE "C")`, value: raw.slice(19) }),
      },
      {
        expr: `(substr(${id}::text, 1, 18) COLLATE "C")`,
        param: (raw, n) => ({ sql: `($${n}::text COLLATE "C")`, value: raw.slice(0, 18) }),
      },
    ];
  }
  if (col.kind === "text" && /String/.test(chBase)) {
    return [
      { expr: `(${id}::text COLLATE "C")`, param: (raw, n) => ({ sql: `($${n}::text COLLATE "C")`, value: raw }) },
    ];
  }
  if (col.kind === "decimal" && chBase === "String") {
    // numeric without precision is text in ClickHouse: ordered as text there.
    return [
      { expr: `(${id}::text COLLATE "C")`, param: (raw, n) => ({ sql: `($${n}::text COLLATE "C")`, value: raw }) },
    ];
  }
  return [{ expr: id, param: (raw, n) => ({ sql: `$${n}::${col.catalog.formatted}`, value: raw }) }];
}

const RAW_TEXT = { getTypeParser: () => (v: string) => v };

async function* pgRows(pool: PgPool, ref: TableRef, cols: ColumnPlan[], keys: ColumnPlan[], chunk: number) {
  const client = await pool.connect();
  let open = true;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    for (const s of [
      "SET LOCAL TimeZone = 'UTC'",
      "SET LOCAL DateStyle = 'ISO, YMD'",
      "SET LOCAL IntervalStyle = 'iso_8601'",
      "SET LOCAL extra_float_digits = 1",
      "SET LOCAL bytea_output = 'hex'",
    ])
      await client.query(s);
    const parts = keys.flatMap((k) => pgKeyParts(k).map((p) => ({ key: k, ...p })));
    const select = cols.map(pgSelect).join(", ");
    const order = parts.map((p) => p.expr).join(", ");
    let last: Record<string, unknown> | undefined;
    for (;;) {
      const values: string[] = [];
      let where = "";
      if (last) {
        const bound = parts.map((p) => {
          const b = p.param(String(last?.[p.key.name]), values.length + 1);
          values.push(b.value);
          return b.sql;
        });
        where = ` WHERE (${order}) > (${bound.join(", ")})`;
      }
      const { rows } = await client.query({
        text: `SELECT ${select} FROM ${quoteTable(ref)}${where} ORDER BY ${order} LIMIT ${chunk}`,
        values,
        types: RAW_TEXT,
      });
      for (const r of rows) yield r as Record<string, unknown>;
      if (rows.length < chunk) break;
      last = rows[rows.length - 1];
    }
    await client.query("COMMIT");
    open = false;
  } finally {
    // Also when the caller stops reading early (the ClickHouse side failed): a connection must not
    // go back to the pool inside this read-only transaction (the next INSERT on it would fail).
    if (open) await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}

/** Where ClickHouse rows come from: the engine itself, or the read API's keyset endpoint. */
export type ProjectionReader =
  | { kind: "clickhouse"; client: ClickHouse; database: string }
  | { kind: "read-api"; url: string; token?: string };

const stripLowCardinality = (t: string) => t.replace(/^LowCardinality\((.*)\)$/, "$1");

export async function* chRows(
  reader: ProjectionReader,
  target: string,
  cols: Pick<ColumnPlan, "name">[],
  keys: Pick<ColumnPlan, "name" | "spec">[],
  chunk: number,
) {
  let fetchPage: (cursor: unknown) => Promise<Page & { cursor: unknown }>;
  if (reader.kind === "clickhouse") {
    const from = `${chq(reader.database)}.${chq(target)} FINAL`;
    const select = cols.map((c) => chq(c.name)).join(", ");
    const keyList = keys.map((k) => chq(k.name)).join(", ");
    fetchPage = async (cursor) => {
      const last = cursor as Record<string, unknown> | undefined;
      const params: Record<string, unknown> = {};
      let where = "`_deleted` = 0";
      if (last) {
        const bound = keys.map((k, i) => {
          params[`k${i}`] = last[k.name];
          return `{k${i}:${stripLowCardinality(k.spec.type.baseSql)}}`;
        });
        where += ` AND (${keyList}) > (${bound.join(", ")})`;
      }
      const rows = await queryRows<Record<string, unknown>>(
        reader.client,
        // Denormals quoted: NaN and ±inf come back as such, not as null.
        `SELECT ${select} FROM ${from} WHERE ${where} ORDER BY ${keyList} LIMIT ${chunk} SETTINGS output_format_json_quote_denormals = 1`,
        params,
      );
      return { rows, done: rows.length < chunk, cursor: rows[rows.length - 1] };
    };
  } else {
    fetchPage = async (cursor) => {
      const qs = new URLSearchParams({
        columns: cols.map((c) => c.name).join(","),
        order: keys.map((k) => k.name).join(","),
        limit: String(chunk),
      });
      if (cursor) qs.set("after", String(cursor));
      const body = await readApiGet(reader, `/api/tables/${encodeURIComponent(target)}/rows?${qs}`);
      const page = body as { data: Record<string, unknown>[]; nextCursor: string | null };
      return { rows: page.data, done: !page.nextCursor, cursor: page.nextCursor };
    };
  }
  let cursor: unknown;
  for (;;) {
    const page = await fetchPage(cursor);
    for (const r of page.rows) yield r;
    if (page.done || page.rows.length === 0) break;
    cursor = page.cursor;
  }
}

async function readApiGet(
  reader: Extract<ProjectionReader, { kind: "read-api" }>,
  path: string,
  headers: Record<string, string> = {},
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${reader.url.replace(/\/$/, "")}${path}`, {
      headers: { ...(reader.token ? { authorization: `Bearer ${reader.token}` } : {}), ...headers },
    });
    if (res.ok) return res.json();
    const text = await res.text();
    if (res.status === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    throw new Error(readApiError(path, res.status, text, !!reader.token));
  }
}

/** Why a read of the read API failed; a refused or missing token says how to get one. */
export function readApiError(path: string, status: number, text: string, hadToken: boolean): string {
  const where = `read API ${path.split("?")[0]}: ${status}`;
  if (status !== 401) return `${where} ${text.slice(0, 300)}`;
  const why = hadToken ? "READ_API_TOKEN was refused" : "no READ_API_TOKEN was set";
  return `${where}: ${why}. Set it to the read API's token (for the stack make up started: eval "$(make -s token)")`;
}

// ---------------------------------------------------------------------------
// Comparing

export interface Difference {
  kind: "missing" | "extra" | "different";
  key: Record<string, string | null>;
  /** Columns whose values differ (different only). */
  columns?: string[];
  postgres?: Record<string, string | null>;
  clickhouse?: Record<string, string | null>;
}

export interface TableVerification {
  table: string;
  target: string;
  postgresRows: number;
  clickhouseRows: number;
  postgresChecksum: string;
  clickhouseChecksum: string;
  missing: number;
  extra: number;
  different: number;
  examples: Difference[];
  /** Set when the table could not be compared (no primary key, no ClickHouse table, …). */
  problem?: string;
  ok: boolean;
}

export interface VerifyReport {
  tables: TableVerification[];
  ok: boolean;
  /** The source LSN the projection was awaited to (every change up to it is in ClickHouse), if reached. */
  waitedForLsn?: string;
  projectionBehind?: boolean;
  /** What the source is called in the report (default Postgres). */
  source?: string;
}

export interface VerifyOptions {
  /** Rows per keyset chunk (default 10,000; the read API's READ_MAX_ROWS caps it there). */
  chunkRows?: number;
  /** Differences kept per table (default 10). */
  examples?: number;
  /** Wait for the projection to reach the source's current LSN first, at most this long (default 60 s; 0: no wait). */
  waitMs?: number;
}

/** A table's verification before anything is compared (counts zero, not ok). */
export function emptyVerification(ref: TableRef): TableVerification {
  return {
    table: tableName(ref),
    target: "",
    postgresRows: 0,
    clickhouseRows: 0,
    postgresChecksum: "",
    clickhouseChecksum: "",
    missing: 0,
    extra: 0,
    different: 0,
    examples: [],
    ok: false,
  };
}

export async function verifyTable(
  pool: PgPool,
  reader: ProjectionReader,
  ref: TableRef,
  opts: VerifyOptions = {},
): Promise<TableVerification> {
  const chunk = opts.chunkRows ?? 10_000;
  const maxExamples = opts.examples ?? 10;
  const cat: CatalogTable = await readCatalog(pool, ref);
  const base = emptyVerification(ref);
  if (cat.primaryKey.length === 0) {
    return { ...base, problem: "no primary key: not projected (attach with --keyless skip to leave it out)" };
  }
  const shape = catalogShape(cat);
  base.target = shape.target;
  const cols = cat.columns.map((c) => planColumn(c, shape.columns.find((s) => s.name === c.name) as ColumnSpec));
  const keys = cat.primaryKey.map((k) => cols.find((c) => c.name === k) as ColumnPlan);
  const keyIdx = keys.map((k) => cols.indexOf(k));

  const toCanon = (r: Record<string, unknown>, side: "pg" | "ch"): CanonicalRow => {
    const values = cols.map((c) => canonicalValue(c, r[c.name], side));
    return { values, key: keyIdx.map((i) => values[i] ?? null) };
  };
  const source = mapRows(pgRows(pool, ref, cols, keys, chunk), (r) => toCanon(r, "pg"));
  const projected = mapRows(chRows(reader, shape.target, cols, keys, chunk), (r) => toCanon(r, "ch"));
  return compareOrdered(base, cols, keys, source, projected, maxExamples);
}

async function* mapRows<T>(rows: AsyncIterable<Record<string, unknown>>, fn: (r: Record<string, unknown>) => T) {
  for await (const r of rows) yield fn(r);
}

/**
 * The merge of two key-ordered streams of canonical rows (the source's and ClickHouse's): counts,
 * checksums, missing / extra / different rows with examples. Shared by every kind of source.
 */
export async function compareOrdered(
  base: TableVerification,
  cols: Pick<ColumnPlan, "name">[],
  keys: Pick<ColumnPlan, "name" | "kind">[],
  source: AsyncIterable<CanonicalRow>,
  projected: AsyncIterable<CanonicalRow>,
  maxExamples: number,
): Promise<TableVerification> {
  const keyKinds = keys.map((k) => k.kind);
  const named = (row: CanonicalRow, which: number[] = cols.map((_, i) => i)) =>
    Object.fromEntries(which.map((i) => [cols[i]?.name as string, row.values[i] ?? null]));
  const keyObj = (row: CanonicalRow) => Object.fromEntries(keys.map((k, i) => [k.name, row.key[i] ?? null]));

  const pgHash = createHash("sha256");
  const chHash = createHash("sha256");
  const pgIt = source[Symbol.asyncIterator]();
  const chIt = projected[Symbol.asyncIterator]();
  const next = async (it: AsyncIterator<CanonicalRow>, side: "pg" | "ch") => {
    const r = await it.next();
    if (r.done) return undefined;
    const row = r.value;
    const text = `${JSON.stringify(row.values)}\n`;
    if (side === "pg") {
      pgHash.update(text);
      base.postgresRows++;
    } else {
      chHash.update(text);
      base.clickhouseRows++;
    }
    return row;
  };
  const example = (d: Difference) => {
    if (base.examples.length < maxExamples) base.examples.push(d);
  };

  try {
    let a = await next(pgIt, "pg");
    let b = await next(chIt, "ch");
    while (a || b) {
      const c = !a ? 1 : !b ? -1 : compareKeys(keyKinds, a.key, b.key);
      if (c < 0 && a) {
        base.missing++;
        example({ kind: "missing", key: keyObj(a), postgres: named(a) });
        a = await next(pgIt, "pg");
      } else if (c > 0 && b) {
        base.extra++;
        example({ kind: "extra", key: keyObj(b), clickhouse: named(b) });
        b = await next(chIt, "ch");
      } else if (a && b) {
        const diff = cols.map((_, i) => i).filter((i) => a?.values[i] !== b?.values[i]);
        if (diff.length) {
          base.different++;
          example({
            kind: "different",
            key: keyObj(a),
            columns: diff.map((i) => cols[i]?.name as string),
            postgres: named(a, diff),
            clickhouse: named(b, diff),
          });
        }
        a = await next(pgIt, "pg");
        b = await next(chIt, "ch");
      }
    }
  } catch (err) {
    await pgIt.return?.();
    return { ...base, problem: (err as Error).message.split("\n")[0]?.slice(0, 500) };
  }
  base.postgresChecksum = pgHash.digest("hex").slice(0, 16);
  base.clickhouseChecksum = chHash.digest("hex").slice(0, 16);
  base.ok =
    base.missing === 0 && base.extra === 0 && base.different === 0 && base.postgresChecksum === base.clickhouseChecksum;
  return base;
}

/** Waits until the projection includes every change up to the source's current LSN. */
async function waitForProjection(
  pool: PgPool,
  reader: ProjectionReader,
  waitMs: number,
): Promise<{ lsn: string; reached: boolean }> {
  const { rows } = await pool.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
  const lsnText = rows[0]?.lsn as string;
  const lsn = parseLsn(lsnText);
  if (waitMs <= 0) return { lsn: lsnText, reached: false };
  const deadline = Date.now() + waitMs;
  if (reader.kind === "read-api") {
    try {
      await readApiGet(reader, "/api/tables", { "x-consistency-token": lsnText }, waitMs);
      return { lsn: lsnText, reached: true };
    } catch {
      return { lsn: lsnText, reached: false };
    }
  }
  for (;;) {
    const found = await queryRows<{ lsn: string }>(
      reader.client,
      `SELECT toString(max(last_lsn)) AS lsn FROM ${chq(reader.database)}.${chq(PROGRESS_TABLE)} WHERE \`table\` = {w:String}`,
      { w: WATERMARK_ROW },
    ).catch(() => []);
    const at = found[0]?.lsn ? BigInt(found[0].lsn) : 0n;
    if (at >= lsn) return { lsn: formatLsn(lsn), reached: true };
    if (Date.now() > deadline) return { lsn: formatLsn(lsn), reached: false };
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** verify for an attachment: every table of its publication. */
export async function verifyAttachment(
  pool: PgPool,
  reader: ProjectionReader,
  name: string,
  opts: VerifyOptions & { tables?: TableRef[] } = {},
): Promise<VerifyReport> {
  const tables = opts.tables ?? (await publicationTables(pool, attachNames(name).publication));
  if (!tables.length)
    throw new Error(`attachment ${name} has no tables (publication ${attachNames(name).publication} missing or empty)`);
  const waited = await waitForProjection(pool, reader, opts.waitMs ?? 60_000);
  const out: TableVerification[] = [];
  for (const t of tables) out.push(await verifyTable(pool, reader, t, opts));
  return {
    tables: out,
    ok: out.every((t) => t.ok),
    waitedForLsn: waited.lsn,
    projectionBehind: !waited.reached && (opts.waitMs ?? 60_000) > 0,
  };
}

export function formatVerifyReport(r: VerifyReport): string {
  const lines: string[] = [];
  const src = r.source ?? "Postgres";
  if (r.projectionBehind)
    lines.push(
      `warning: the projection did not reach the source's LSN ${r.waitedForLsn} in time; recent changes may show as differences`,
    );
  for (const t of r.tables) {
    if (t.problem) {
      lines.push(`FAIL  ${t.table}: not compared: ${t.problem}`);
      continue;
    }
    const head = `${t.ok ? "ok  " : "DIFF"}  ${t.table} → ${t.target}: ${src} ${t.postgresRows.toLocaleString("en-US")} rows (checksum ${t.postgresChecksum}), ClickHouse ${t.clickhouseRows.toLocaleString("en-US")} rows (checksum ${t.clickhouseChecksum})`;
    lines.push(head);
    if (!t.ok) {
      lines.push(`      missing in ClickHouse ${t.missing}, extra in ClickHouse ${t.extra}, different ${t.different}`);
      for (const e of t.examples) {
        const detail =
          e.kind === "different"
            ? ` columns ${e.columns?.join(", ")}: ${src} ${JSON.stringify(e.postgres)} ClickHouse ${JSON.stringify(e.clickhouse)}`
            : "";
        lines.push(`      ${e.kind} ${JSON.stringify(e.key)}${detail}`);
      }
    }
  }
  const failed = r.tables.filter((t) => t.problem).length;
  const differ = r.tables.filter((t) => !t.ok && !t.problem).length;
  lines.push(
    r.ok
      ? `verify: ${r.tables.length} table(s) identical`
      : `verify: ${[differ && `differences in ${differ}`, failed && `${failed} not compared`].filter(Boolean).join(", ")} of ${r.tables.length} table(s)`,
  );
  return lines.join("\n");
}
