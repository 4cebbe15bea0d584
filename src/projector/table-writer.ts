import type { TableShape } from "../cdc/table.js";
import type { ToastRow, TruncateEvent } from "./batch-decode.js";
import { DeterministicFailure, isDataError, isMissingObject } from "./failures.js";
import type { Retrier } from "./retry.js";
import type { RowLines } from "./row-lines.js";
import type { ClickHouseSink, SchemaChange } from "./sink.js";
import type { TableHealth } from "./table-health.js";

/** One table's part of a consumed batch, decoded. */
export interface TableBatch {
  shape: TableShape;
  /** Every shape seen in the batch (a column may be added mid-batch): each is synced. */
  shapes: Set<TableShape>;
  /** The latest row per key, as JSON lines. */
  lines: RowLines;
  /** The latest rows still lacking unchanged TOAST values (filled from ClickHouse, then inserted with the lines). */
  toast: ToastRow[];
  truncates: TruncateEvent[];
  /** Every message of the table in the batch. */
  indexes: number[];
}

/** A message of the batch that could not be applied, and why. */
export interface SetAside {
  index: number;
  /** insert-rejected: ClickHouse refused the row's data; failed: the table's step kept failing. */
  kind: "insert-rejected" | "failed";
  reason: string;
}

export interface Liveness {
  alive: () => boolean;
  beat: () => Promise<void>;
}

/**
 * Where a batch is inserted: one table's rows, then its truncates, into ClickHouse. Transient
 * failures are retried for as long as it takes; a deterministic one gets `attempts` tries
 * (one once the table is degraded), then the table's messages are set aside (the caller sends
 * them to the dead-letter topic), the table is marked degraded and the batch goes on. A table
 * or column that vanished from ClickHouse is created again once, and the table marked degraded:
 * what it held before is gone until it is repaired.
 */
export class TableWriter {
  constructor(
    private readonly sink: ClickHouseSink,
    private readonly retrier: Retrier,
    private readonly health: TableHealth,
    private readonly attempts: number,
    private readonly onRows: (target: string, n: number) => void = () => undefined,
  ) {}

  /** Stores a table's rows and truncates; returns what was set aside. Throws only Abandoned or when not alive. */
  async store(tb: TableBatch, live: Liveness): Promise<SetAside[]> {
    const source = `${tb.shape.schema}.${tb.shape.table}`;
    return this.guarded(tb.shape.target, source, tb.indexes, async () => {
      for (const shape of tb.shapes) {
        const changes = await this.run("schema", () => this.sink.ensureTable(shape), live, tb.shape.target);
        await this.noteSchemaChanges(tb.shape.target, source, changes, live);
      }
      const rejected = await this.insertRows(tb, live);
      if (rejected.length > 0)
        this.health.mark(
          tb.shape.target,
          source,
          `ClickHouse refused ${rejected.length} row(s): ${rejected[0]?.reason}`,
        );
      for (const t of tb.truncates) await this.truncate(tb.shape, t, live);
      // Counted once the steps are through: a table healed after its insert runs them again.
      this.onRows(tb.shape.target, tb.lines.count + tb.toast.length - rejected.length);
      return rejected;
    });
  }

  /** Truncates of a table with no row in the batch: its keys come from the ClickHouse table (none: nothing to clear). */
  async storeTruncates(
    target: string,
    source: string,
    truncates: TruncateEvent[],
    live: Liveness,
  ): Promise<SetAside[]> {
    const indexes = truncates.map((t) => t.index);
    return this.guarded(target, source, indexes, async () => {
      const keys = await this.run("truncate", () => this.sink.tableKeys(target), live, target);
      if (keys) for (const t of truncates) await this.truncate({ target, keys }, t, live);
      return [];
    });
  }

  /** Runs a table's steps; turns a deterministic failure into set-aside messages and a degraded mark. */
  private async guarded(
    target: string,
    source: string,
    indexes: number[],
    steps: () => Promise<SetAside[]>,
  ): Promise<SetAside[]> {
    for (let healed = false; ; healed = true) {
      try {
        return await steps();
      } catch (err) {
        if (!(err instanceof DeterministicFailure)) throw err;
        if (!healed && isMissingObject(err.cause)) {
          this.sink.forget(target);
          this.health.mark(
            target,
            source,
            `the ClickHouse table or one of its columns was missing (dropped or altered by hand?) and was created again; rows stored before are gone: ${err.cause.message.slice(0, 200)}`,
          );
          continue;
        }
        this.health.mark(target, source, err.message);
        return indexes.map((index) => ({ index, kind: "failed" as const, reason: err.message }));
      }
    }
  }

  /**
   * A column added at the source while streaming: rows from before it have NULL (or the type's
   * default) here, while Postgres may have filled them (a DEFAULT, a rename); a changed type was
   * converted by ClickHouse, maybe not as Postgres converted it. Either way the table is marked
   * degraded until `repair` (which verifies first, and re-snapshots only when something differs).
   */
  private async noteSchemaChanges(target: string, source: string, changes: SchemaChange[], live: Liveness) {
    if (changes.some((c) => c.kind === "recreated"))
      this.health.mark(
        target,
        source,
        "the ClickHouse table was missing (dropped by hand?) and was created again; rows stored before are gone",
      );
    const added = changes.filter((c) => c.kind === "added").map((c) => `${c.column} = ${typeDefault(c.to ?? "")}`);
    const retyped = changes.filter((c) => c.kind === "type").map((c) => `${c.column} (${c.from} → ${c.to})`);
    if (added.length > 0 && !(await this.run("schema", () => this.sink.hasRows(target), live, target)))
      added.length = 0;
    if (added.length === 0 && retyped.length === 0) return;
    const what = [
      added.length
        ? `column(s) added to the projection (new at the source, or dropped from ClickHouse by hand): rows stored before read ${added.join(", ")} here, whatever the source holds`
        : "",
      retyped.length ? `type changed: ${retyped.join(", ")}` : "",
    ].filter(Boolean);
    this.health.mark(
      target,
      source,
      `schema changed while streaming: ${what.join("; ")}; run repair to check and re-read`,
    );
  }

  private run<T>(stage: string, fn: () => Promise<T>, live: Liveness, target: string, attempts?: number): Promise<T> {
    return this.retrier.run(stage, fn, {
      ...live,
      deterministicAttempts: attempts ?? (this.health.isDegraded(target) ? 1 : this.attempts),
    });
  }

  private async insertRows(tb: TableBatch, live: Liveness): Promise<SetAside[]> {
    let lines = tb.lines;
    if (tb.toast.length > 0) {
      await this.run("toast", () => this.sink.resolveUnavailable(tb.shape, tb.toast), live, tb.shape.target);
      lines = lines.append(
        tb.toast.map((r) => JSON.stringify(r.values)),
        tb.toast.map((r) => r.index),
      );
    }
    if (lines.count === 0) return [];
    const rejected: SetAside[] = [];
    await this.insertOrSplit(tb.shape, lines, live, rejected);
    return rejected;
  }

  /**
   * Inserts rows; when ClickHouse refuses their data, halves the set until the refused rows are
   * found. Only the whole set gets the usual tries: a part of data already refused is tried once
   * (with every row refused, 8,000 rows would otherwise take 3 tries and their waits at each of
   * 16,000 steps: minutes of a stalled partition).
   */
  private async insertOrSplit(shape: TableShape, rows: RowLines, live: Liveness, rejected: SetAside[], part = false) {
    try {
      await this.run(
        "insert",
        () => this.sink.insert(shape, rows),
        live,
        shape.target,
        rows.count > 1 && !part ? undefined : 1,
      );
    } catch (err) {
      if (!(err instanceof DeterministicFailure) || !isDataError(err.cause)) throw err;
      if (rows.count === 1) {
        rejected.push({
          index: rows.indexes[0] as number,
          kind: "insert-rejected",
          reason: err.cause.message.slice(0, 500),
        });
        return;
      }
      const half = Math.ceil(rows.count / 2);
      await this.insertOrSplit(shape, rows.slice(0, half), live, rejected, true);
      await this.insertOrSplit(shape, rows.slice(half, rows.count), live, rejected, true);
    }
  }

  private async truncate(shape: Pick<TableShape, "target" | "keys">, t: TruncateEvent, live: Liveness) {
    await this.run("truncate", () => this.sink.truncate(shape, t.lsn, t.commitTsUs), live, shape.target);
  }
}

/** What rows stored before a column was added read in it: NULL, or ClickHouse's default of its type. */
export function typeDefault(type: string): string {
  const t = type.replace(/^LowCardinality\((.*)\)$/, "$1");
  if (/^Nullable\(/.test(t)) return "NULL";
  if (/^(U?Int|Float|Decimal)/.test(t)) return "0";
  if (/^(String|FixedString)/.test(t)) return "''";
  if (t === "Bool") return "false";
  if (/^Date(32)?$/.test(t)) return "1970-01-01";
  if (/^DateTime/.test(t)) return "1970-01-01 00:00:00";
  if (/^Array\(/.test(t)) return "[]";
  if (t === "UUID") return "00000000-0000-0000-0000-000000000000";
  return `the default of ${type}`;
}
