import type { ColumnSpec, TableShape } from "../cdc/table.js";
import { formatMicros } from "../cdc/types.js";
import { type ClickHouse, quoteIdent as q, queryRows, rawInsertOf } from "../clickhouse/client.js";
import type { Logger } from "../shared/logger.js";
import { noteTruncate } from "../snapshot/truncate-watch.js";
import type { ToastRow } from "./batch-decode.js";
import {
  addColumnSql,
  createDatabaseSql,
  createHealthTableSql,
  createProgressTableSql,
  createTableSql,
  type DdlOptions,
  dropTableSql,
  forgetProgressSql,
  HEALTH_TABLE,
  modifyColumnSql,
  PROGRESS_TABLE,
  truncateMarkersSql,
  WATERMARK_ROW,
} from "./ddl.js";
import { isDiskRefused } from "./failures.js";
import type { RowLines } from "./row-lines.js";
import type { Degradation } from "./table-health.js";

/**
 * Everything the projector does to ClickHouse: create and widen tables (schema sync), insert
 * a batch's rows in one insert per table, fill unchanged TOAST values from the last stored row,
 * write truncate markers, and store progress.
 */
export class ClickHouseSink {
  /** target table → its columns (name → ClickHouse type) as last read or changed. */
  private readonly known = new Map<string, Map<string, string>>();
  /** target table → its sorting key columns. */
  private readonly keys = new Map<string, string[]>();
  /** Tables whose merges are stopped while the disk refuses inserts (holdMerges). */
  private readonly mergesHeld = new Set<string>();
  /** fingerprints already synced. */
  private readonly synced = new Set<string>();
  private lastHealthUs = 0n;
  /** When the disk began refusing inserts (less a margin), until an insert gets through. */
  private refusedSince: Date | undefined;
  /** Told when inserts get through again after the disk refused them (damaged-parts.ts checks what was written). */
  onDiskBack: (since: Date) => Promise<void> = async () => undefined;
  /** That check, while it runs. */
  private checking: Promise<void> | undefined;

  constructor(
    private readonly ch: ClickHouse,
    private readonly ddl: DdlOptions,
    private readonly log: Logger,
  ) {}

  async init(): Promise<void> {
    await this.ch.command({ query: createDatabaseSql(this.ddl) });
    await this.ch.command({ query: createProgressTableSql(this.ddl) });
    await this.ch.command({ query: createHealthTableSql(this.ddl) });
  }

  /** Forgets what is known of a table, so the next ensureTable checks it again (it was dropped or altered by hand). */
  forget(target: string): void {
    this.known.delete(target);
    this.keys.delete(target);
    for (const k of [...this.synced]) if (k.startsWith(`${target}|`)) this.synced.delete(k);
  }

  async loadHealth(): Promise<Degradation[]> {
    const rows = await queryRows<{ table: string; source: string; reason: string; since: string }>(
      this.ch,
      `SELECT \`table\`, source, reason, toString(since) AS since FROM ${q(this.ddl.database)}.${q(HEALTH_TABLE)} FINAL WHERE degraded = 1`,
    );
    return rows.map((r) => ({
      target: r.table,
      source: r.source,
      reason: r.reason,
      since: new Date(`${r.since.replace(" ", "T")}Z`),
    }));
  }

  async saveHealth(
    entries: { target: string; source: string; degraded: boolean; reason: string; since: Date }[],
  ): Promise<void> {
    if (entries.length === 0) return;
    // Strictly increasing, so a mark and its clearing in the same millisecond keep their order.
    this.lastHealthUs =
      BigInt(Date.now()) * 1000n > this.lastHealthUs ? BigInt(Date.now()) * 1000n : this.lastHealthUs + 1n;
    const now = formatMicros(this.lastHealthUs);
    await this.ch.insert({
      table: `${q(this.ddl.database)}.${q(HEALTH_TABLE)}`,
      format: "JSONEachRow",
      values: entries.map((e) => ({
        table: e.target,
        source: e.source,
        degraded: e.degraded ? 1 : 0,
        reason: e.reason,
        since: formatMicros(BigInt(e.since.getTime()) * 1000n),
        updated_at: now,
      })),
    });
  }

  /**
   * Creates the table, adds the columns it lacks and changes the type of a column whose source
   * type changed (ALTER … MODIFY COLUMN converts the stored values, so no row is written with the
   * old type); cheap when the shape was seen before. A table whose key differs from the events'
   * key is a conflict (ProjectionConflict): its rows would replace the wrong rows.
   */
  async ensureTable(shape: TableShape): Promise<SchemaChange[]> {
    const syncKey = `${shape.target}|${shape.fingerprint}`;
    if (this.synced.has(syncKey)) return [];
    const changes: SchemaChange[] = [];
    let cols = this.known.get(shape.target);
    if (!cols) {
      const existed = await this.tableExists(shape.target);
      cols = await this.loadTable(shape);
      // Created just now, yet rows of it were stored before (the progress table says so): it was dropped by hand.
      if (!existed && (await this.hasProgress(shape.target))) changes.push({ column: "", kind: "recreated" });
    }
    this.checkKey(shape);
    for (const c of shape.columns) {
      const have = cols.get(c.name);
      if (have === undefined) {
        await this.ch.command({ query: addColumnSql(this.ddl, shape.target, c) });
        this.log.info({ table: shape.target, column: c.name, type: c.type.sql }, "column added to projection");
        changes.push({ column: c.name, kind: "added", to: c.type.sql });
      } else if (!sameType(have, c.type.sql)) {
        await this.ch.command({
          query: modifyColumnSql(this.ddl, shape.target, c),
          clickhouse_settings: { mutations_sync: "2", alter_sync: "2" },
        });
        this.log.info({ table: shape.target, column: c.name, from: have, to: c.type.sql }, "column type changed");
        changes.push({ column: c.name, kind: "type", from: have, to: c.type.sql });
      }
      cols.set(c.name, c.type.sql);
    }
    this.synced.add(syncKey);
    return changes;
  }

  /** Drops a projected table (detach --drop-data) and forgets it. */
  async dropTable(target: string): Promise<void> {
    await this.ch.command({ query: dropTableSql(this.ddl, target) });
    await this.ch.command({ query: forgetProgressSql(this.ddl), query_params: { t: target } });
    this.forget(target);
  }

  private async tableExists(target: string): Promise<boolean> {
    const rows = await queryRows<{ n: number | string }>(
      this.ch,
      "SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}",
      { db: this.ddl.database, t: target },
    );
    return Number(rows[0]?.n ?? 0) > 0;
  }

  /** Whether rows of this table were ever recorded as stored (by the projector or attach's copy). */
  private async hasProgress(target: string): Promise<boolean> {
    const rows = await queryRows<{ one: number }>(
      this.ch,
      `SELECT 1 AS one FROM ${q(this.ddl.database)}.${q(PROGRESS_TABLE)} WHERE \`table\` = {t:String} LIMIT 1`,
      { t: target },
    );
    return rows.length > 0;
  }

  /** The source table (schema.table) recorded for a projected table, the table's own name if none is. */
  async sourceOf(target: string): Promise<string> {
    const rows = await queryRows<{ source: string }>(
      this.ch,
      `SELECT source FROM ${q(this.ddl.database)}.${q(PROGRESS_TABLE)} FINAL WHERE \`table\` = {t:String} AND source != '' LIMIT 1`,
      { t: target },
    );
    return rows[0]?.source ?? target;
  }

  /** Whether the projected table holds a live row (a column added to an empty table needs no backfill). */
  async hasRows(target: string): Promise<boolean> {
    const rows = await queryRows<{ one: number }>(
      this.ch,
      `SELECT 1 AS one FROM ${q(this.ddl.database)}.${q(target)} FINAL WHERE _deleted = 0 LIMIT 1`,
    );
    return rows.length > 0;
  }

  private async loadTable(shape: TableShape): Promise<Map<string, string>> {
    await this.ch.command({ query: createTableSql(this.ddl, shape) });
    const rows = await queryRows<{ name: string; type: string; key: number | string }>(
      this.ch,
      "SELECT name, type, is_in_sorting_key AS key FROM system.columns WHERE database = {db:String} AND table = {t:String}",
      { db: this.ddl.database, t: shape.target },
    );
    this.keys.set(
      shape.target,
      rows.filter((r) => Number(r.key) === 1).map((r) => r.name),
    );
    const cols = new Map(rows.map((r) => [r.name, r.type]));
    this.known.set(shape.target, cols);
    return cols;
  }

  private checkKey(shape: TableShape): void {
    const keys = this.keys.get(shape.target) ?? [];
    if (keys.length === shape.keys.length && shape.keys.every((k) => keys.includes(k))) return;
    throw new ProjectionConflict(
      `${shape.schema}.${shape.table} changes carry the key (${shape.keys.join(", ")}) but ${this.ddl.database}.${shape.target} is ordered by (${keys.join(", ")}): the primary key changed at the source; drop the projected table and repair it`,
    );
  }

  /** Fills UNAVAILABLE columns from the table's current FINAL state (one query per batch). */
  async resolveUnavailable(shape: TableShape, rows: Pick<ToastRow, "values" | "unavailable">[]): Promise<number> {
    const pending = rows.filter((r) => r.unavailable.length > 0);
    if (pending.length === 0) return 0;
    const keyCols = shape.keys.map((k) => shape.columns.find((c) => c.name === k) as ColumnSpec);
    const wanted = [...new Set(pending.flatMap((r) => r.unavailable))];
    const params: Record<string, unknown> = {};
    const tuples = pending.map((r, i) => {
      const parts = keyCols.map((c, j) => {
        params[`k${i}_${j}`] = r.values[c.name];
        return `{k${i}_${j}:${c.type.baseSql}}`;
      });
      return `(${parts.join(", ")})`;
    });
    const keyList = keyCols.map((c) => q(c.name)).join(", ");
    const found = await queryRows<Record<string, unknown>>(
      this.ch,
      `SELECT ${keyList}, ${wanted.map(q).join(", ")} FROM ${q(this.ddl.database)}.${q(shape.target)} FINAL WHERE (${keyList}) IN (${tuples.join(", ")})`,
      params,
    );
    const byKey = new Map<string, Record<string, unknown>>();
    for (const f of found) byKey.set(JSON.stringify(shape.keys.map((k) => normaliseKey(f[k]))), f);
    let unresolved = 0;
    for (const r of pending) {
      const stored = byKey.get(JSON.stringify(shape.keys.map((k) => normaliseKey(r.values[k]))));
      for (const col of r.unavailable) {
        if (stored && col in stored) r.values[col] = stored[col];
        else {
          // No earlier value anywhere: the column's default (NULL when nullable) rather than the placeholder.
          delete r.values[col];
          unresolved++;
        }
      }
      r.unavailable = [];
    }
    if (unresolved > 0)
      this.log.warn({ table: shape.target, unresolved }, "unchanged TOAST value with no stored row to copy from");
    return unresolved;
  }

  /** One insert of rows already serialised as JSON lines (the decode worker does that). */
  async insert(shape: TableShape, rows: RowLines): Promise<void> {
    if (rows.count === 0) return;
    await this.insertJsonLines(shape.target, rows.body);
  }

  /**
   * One insert of JSON lines that are already in the projection's form (the snapshot copy's bytes
   * from Postgres): handed to chDB as bytes, or sent to a server as the body.
   */
  async insertJsonLines(target: string, body: Buffer): Promise<void> {
    try {
      await this.insertOnce(target, body);
    } catch (err) {
      if (isDiskRefused(err)) {
        // A merge that ran out of space before this insert did may have committed its part already.
        this.refusedSince ??= new Date(Date.now() - REFUSAL_MARGIN_MS);
        await this.holdMerges(target);
      }
      throw err;
    }
    if (this.refusedSince !== undefined) {
      const since = this.refusedSince;
      this.refusedSince = undefined;
      // Merges start again once the parts written meanwhile are checked: a merge would take a
      // damaged part out of its check's reach (or fail on it).
      this.checking = this.onDiskBack(since).finally(() => {
        this.checking = undefined;
        if (this.refusedSince === undefined && this.mergesHeld.size > 0) return this.resumeMerges();
      });
    }
    if (this.mergesHeld.size > 0 && !this.checking) await this.resumeMerges();
  }

  /**
   * Merges stop while the disk refuses inserts, and start again once an insert gets through and
   * the parts written meanwhile are checked (onDiskBack). A merge that starts in space freed a
   * moment earlier (ClickHouse removing old parts) and runs out of it mid-way could be committed
   * with an empty marks file: chDB did so in 3 of 9 runs of the disk-full fault test, and every
   * read of that table failed from then on (damaged-parts.ts finds and replaces such a part).
   */
  private async holdMerges(target: string): Promise<void> {
    const held: string[] = [];
    for (const t of new Set([target, ...this.known.keys()])) {
      if (this.mergesHeld.has(t)) continue;
      await this.ch
        .command({ query: `SYSTEM STOP MERGES ${q(this.ddl.database)}.${q(t)}` })
        .then(() => {
          this.mergesHeld.add(t);
          held.push(t);
        })
        .catch((err) => this.log.warn({ table: t, err: (err as Error).message }, "could not stop merges"));
    }
    if (held.length > 0)
      this.log.warn({ tables: held }, "the disk refuses inserts: merges stopped until an insert gets through");
  }

  private async resumeMerges(): Promise<void> {
    for (const t of [...this.mergesHeld]) {
      // The insert is stored: a failure here is retried with the next insert, not with this one.
      await this.ch
        .command({ query: `SYSTEM START MERGES ${q(this.ddl.database)}.${q(t)}` })
        .then(() => this.mergesHeld.delete(t))
        .catch((err) => this.log.warn({ table: t, err: (err as Error).message }, "could not start merges"));
    }
    if (this.mergesHeld.size === 0) this.log.info("inserts get through again: merges started");
  }

  private async insertOnce(target: string, body: Buffer): Promise<void> {
    const table = `${q(this.ddl.database)}.${q(target)}`;
    const settings = { input_format_skip_unknown_fields: 0 as const, date_time_input_format: "basic" as const };
    const raw = rawInsertOf(this.ch);
    const plain = `${this.ddl.database}.${target}`; // chDB's raw insert takes only unquoted [A-Za-z0-9_] names
    if (raw && /^\w+\.\w+$/.test(plain)) await raw({ table: plain, values: body, format: "JSONEachRow", settings });
    else
      await this.ch.command({
        query: `INSERT INTO ${table} FORMAT JSONEachRow\n${body.toString("utf8")}`,
        clickhouse_settings: settings,
      });
  }

  async truncate(shape: Pick<TableShape, "target" | "keys">, lsn: bigint, commitTsUs: bigint): Promise<void> {
    noteTruncate(`${this.ddl.database}.${shape.target}`, lsn);
    await this.ch.command({
      query: truncateMarkersSql(this.ddl, shape),
      query_params: { lsn: lsn.toString(), commit_ts: formatMicros(commitTsUs) },
    });
  }

  async writeProgress(
    entries: { table: string; source: string; lsn: bigint; commitTsUs: bigint }[],
    nowUs: bigint,
  ): Promise<void> {
    if (entries.length === 0) return;
    await this.ch.insert({
      table: `${q(this.ddl.database)}.${q(PROGRESS_TABLE)}`,
      format: "JSONEachRow",
      values: entries.map((e) => ({
        table: e.table,
        source: e.source,
        last_lsn: e.lsn.toString(),
        last_commit_ts: formatMicros(e.commitTsUs),
        updated_at: formatMicros(nowUs),
      })),
    });
  }

  /**
   * Key columns of an existing projected table (for a truncate whose events carry no schema),
   * undefined when there is no such table. From system.columns, not system.tables.sorting_key:
   * that is expression text, "(id)" in ClickHouse 26, and a truncate that used it as a column
   * name failed the same way forever.
   */
  async tableKeys(target: string): Promise<string[] | undefined> {
    const rows = await queryRows<{ name: string }>(
      this.ch,
      `SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} AND is_in_sorting_key
        ORDER BY position`,
      { db: this.ddl.database, t: target },
    );
    return rows.length > 0 ? rows.map((r) => r.name) : undefined;
  }
}

export { WATERMARK_ROW };

/** How long before the first refused insert a damaged part may have been committed. */
const REFUSAL_MARGIN_MS = 60_000;

/** A change ensureTable made to an existing projected table. */
export interface SchemaChange {
  column: string;
  kind: "added" | "type" | "recreated";
  from?: string;
  to?: string;
}

/** The projection cannot take these events as they are (not a ClickHouse failure): set aside, table degraded. */
export class ProjectionConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProjectionConflict";
  }
}

/** ClickHouse writes types back in its own spelling ("Decimal(12, 2)"): compare without spaces. */
function sameType(a: string, b: string): boolean {
  return a.replace(/\s+/g, "") === b.replace(/\s+/g, "");
}

function normaliseKey(v: unknown): unknown {
  return typeof v === "number" ? String(v) : v;
}
