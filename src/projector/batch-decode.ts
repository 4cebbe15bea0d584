import { type CachedSchema, type DecodedEvent, decodeChangeEvent, SchemaCache, SchemasById } from "../cdc/decode.js";
import type { ConnectSchema, KeyMessage } from "../cdc/envelope.js";
import { EnvelopeError } from "../cdc/envelope.js";
import { type Beat, beatOf, isInternalTable } from "../cdc/internal.js";
import { NoKeyError, type TableShape, tableShape, targetTableName } from "../cdc/table.js";
import { ConversionError } from "../cdc/types.js";
import { type BuiltLines, RowLinesBuilder } from "./row-lines.js";
import { buildRow, encodeRow } from "./rows.js";

/**
 * A Kafka batch turned into what the projector stores: per table the latest row per key as
 * JSONEachRow lines in one buffer (row-lines.ts), plus poison, truncates and the LSN range. Pure
 * and free of functions or symbols, so it can be computed in a worker thread and cloned to the
 * thread that owns ClickHouse, its buffers transferred (see decode-worker.ts).
 */

/** What a TableShape is built from; the receiving thread rebuilds the same shape from it. */
export interface ShapeSource {
  schema: string;
  table: string;
  rowSchema: ConnectSchema;
  keySchema: KeyMessage["schema"] | undefined;
  fingerprint: string;
}

/** A row with unchanged TOAST columns, left out of `values`: filled from ClickHouse, then serialised. */
export interface ToastRow {
  values: Record<string, unknown>;
  unavailable: string[];
  lsn: bigint;
  /** Position of the source message in the batch. */
  index: number;
}

export interface DecodedTable {
  target: string;
  /** Every shape seen in the batch, the current one last (a column may be added mid-batch). */
  shapes: ShapeSource[];
  /** The latest row per key as JSON lines (body, and per line its message's position). */
  lines: Pick<BuiltLines, "body" | "indexes">;
  /** The latest rows that still lack unchanged TOAST values (not in `lines`). */
  toast: ToastRow[];
  /** The highest LSN among the rows (lines and toast); undefined when the table has none in the batch. */
  maxLsn?: bigint;
  truncates: TruncateEvent[];
  /** Every message of this table in the batch (what is set aside if the table's part cannot be stored). */
  indexes: number[];
}

export interface TruncateEvent {
  lsn: bigint;
  commitTsUs: bigint;
  /** Position of the source message in the batch. */
  index: number;
}

export type PoisonKind = EnvelopeError["kind"] | "insert-rejected" | "failed";

export interface DecodedBatch {
  opCounts: Record<string, number>;
  maxLsn?: bigint;
  maxTs?: bigint;
  /** Messages set aside; `source` (schema.table) when the event named its table, which is then degraded. */
  poison: { index: number; kind: PoisonKind; reason: string; source?: { schema: string; table: string } }[];
  tables: DecodedTable[];
  /** Truncates of tables with no row in this batch (their keys come from ClickHouse). */
  truncatesWithoutShape: ({ schema: string; table: string } & TruncateEvent)[];
  /** MySQL/MariaDB connectors' beats in the batch (src/projector/binlog-clock.ts). */
  beats?: Beat[];
}

export function shapeFromSource(s: ShapeSource): TableShape {
  return tableShape(s.schema, s.table, s.rowSchema, s.keySchema);
}

interface TableAcc {
  shape: TableShape;
  shapes: ShapeSource[];
  rows: RowLinesBuilder;
  truncates: TruncateEvent[];
  indexes: number[];
}

/** Schema ids of each message (null: its schema is inline, or it has none) and the texts of those ids. */
export interface NamedSchemas {
  valueIds: (string | null)[];
  keyIds: (string | null)[];
  texts: Record<string, string>;
}

/** A batch's lines start no bigger than this, however big the last one was (64 MiB). */
const MAX_EXPECTED_LINE_BYTES = 64 * 2 ** 20;

const NO_NAMES: { value?: CachedSchema; key?: CachedSchema } = Object.freeze({});

/** Decodes batches; keeps the schema and shape caches between them. */
export class BatchDecoder {
  private readonly schemaCache = new SchemaCache();
  private readonly byId = new SchemasById();
  /** Per target table, the bytes its lines took in the last batch (RowLinesBuilder's first size). */
  private readonly lineBytes = new Map<string, number>();

  private named(named: NamedSchemas | undefined, i: number): { value?: CachedSchema; key?: CachedSchema } {
    if (!named) return NO_NAMES;
    return { value: this.byIdOf(named, named.valueIds[i]), key: this.byIdOf(named, named.keyIds[i]) };
  }

  private byIdOf(named: NamedSchemas, id: string | null | undefined): CachedSchema | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id, named.texts[id]);
    if (!s) throw new EnvelopeError("not-envelope", `schema ${id} named by the message is not in the schema topic`);
    return s;
  }

  private readonly shapes = new Map<string, { shape: TableShape; source: ShapeSource }>();

  /** The last shape found, with what it was found for: consecutive events are mostly of one table. */
  private last:
    | {
        schema: string;
        table: string;
        valueId: number;
        keyId: number;
        entry: { shape: TableShape; source: ShapeSource };
      }
    | undefined;

  private shapeFor(ev: DecodedEvent): { shape: TableShape; source: ShapeSource } {
    if (!ev.rowSchema) throw new EnvelopeError("not-envelope", "change event without a row schema");
    const last = this.last;
    if (
      last !== undefined &&
      ev.valueSchemaId > 0 &&
      ev.keySchemaId > 0 &&
      last.valueId === ev.valueSchemaId &&
      last.keyId === ev.keySchemaId &&
      last.table === ev.table &&
      last.schema === ev.schema
    )
      return last.entry;
    // Schema ids come from the text cache; id 0 (slow path) is never cached.
    const cacheKey =
      ev.valueSchemaId > 0 && ev.keySchemaId > 0
        ? `${ev.schema}.${ev.table}|${ev.valueSchemaId}|${ev.keySchemaId}`
        : undefined;
    let entry = cacheKey ? this.shapes.get(cacheKey) : undefined;
    if (!entry) {
      const shape = tableShape(ev.schema, ev.table, ev.rowSchema, ev.key?.schema);
      const source = {
        schema: ev.schema,
        table: ev.table,
        rowSchema: ev.rowSchema,
        keySchema: ev.key?.schema,
        fingerprint: shape.fingerprint,
      };
      entry = { shape, source };
      if (this.shapes.size > 10_000) this.shapes.clear();
      if (cacheKey) this.shapes.set(cacheKey, entry);
    }
    if (cacheKey)
      this.last = { schema: ev.schema, table: ev.table, valueId: ev.valueSchemaId, keyId: ev.keySchemaId, entry };
    return entry;
  }

  private rememberLineBytes(target: string, bytes: number): void {
    if (this.lineBytes.size > 10_000) this.lineBytes.clear();
    // A little over last time's size, so a batch a few rows bigger does not grow (and copy) the buffer.
    this.lineBytes.set(target, Math.min(bytes + (bytes >> 3), MAX_EXPECTED_LINE_BYTES));
  }

  decode(values: (Buffer | null)[], keys: (Buffer | null)[], named?: NamedSchemas): DecodedBatch {
    const out: DecodedBatch = { opCounts: {}, poison: [], tables: [], truncatesWithoutShape: [] };
    const tables = new Map<string, TableAcc>();
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (!value || value.length === 0) {
        out.opCounts.tombstone = (out.opCounts.tombstone ?? 0) + 1;
        continue;
      }
      let ev: DecodedEvent;
      try {
        ev = decodeChangeEvent(value, keys[i] ?? null, this.schemaCache, this.named(named, i));
      } catch (err) {
        if (err instanceof EnvelopeError) {
          out.poison.push({ index: i, kind: err.kind, reason: err.message });
          continue;
        }
        throw err;
      }
      out.opCounts[ev.op] = (out.opCounts[ev.op] ?? 0) + 1;
      if (out.maxLsn === undefined || ev.lsn > out.maxLsn) {
        out.maxLsn = ev.lsn;
        out.maxTs = ev.commitTsUs;
      }
      // The sidecar's own tables (heartbeats, Debezium signals) only move the watermark; a binlog
      // connector's beat also dates its binlog position.
      if (isInternalTable(ev.schema, ev.table)) {
        const beat = beatOf(ev);
        if (beat) out.beats = [...(out.beats ?? []), beat];
        continue;
      }
      try {
        if (ev.op === "m") continue; // logical decoding messages carry no row
        if (ev.op === "t") {
          const tb = tables.get(targetTableName(ev.schema, ev.table));
          const truncate = { lsn: ev.lsn, commitTsUs: ev.commitTsUs, index: i };
          if (tb) {
            tb.truncates.push(truncate);
            tb.indexes.push(i);
          } else out.truncatesWithoutShape.push({ schema: ev.schema, table: ev.table, ...truncate });
          continue;
        }
        const { shape, source } = this.shapeFor(ev);
        const row = encodeRow(shape, ev) ?? buildRow(shape, ev);
        let tb = tables.get(shape.target);
        if (!tb) {
          const rows = new RowLinesBuilder(this.lineBytes.get(shape.target));
          tb = { shape, shapes: [source], rows, truncates: [], indexes: [] };
          tables.set(shape.target, tb);
        } else if (tb.shape !== shape) {
          // Columns changed mid-batch: every shape is synced; rows built with an older shape omit new columns.
          tb.shapes.push(source);
          tb.shape = shape;
        }
        tb.rows.add(row, i);
        tb.indexes.push(i);
      } catch (err) {
        if (err instanceof ConversionError || err instanceof EnvelopeError) {
          out.poison.push({
            index: i,
            kind: err instanceof ConversionError ? "unconvertible" : err.kind,
            reason: err.message,
            // A keyless table was never accepted for projection: its messages are set aside, it is not degraded.
            source: err instanceof NoKeyError ? undefined : { schema: ev.schema, table: ev.table },
          });
          continue;
        }
        throw err;
      }
    }
    for (const tb of tables.values()) {
      const { body, indexes, toast, maxLsn } = tb.rows.finish();
      this.rememberLineBytes(tb.shape.target, body.length);
      out.tables.push({
        target: tb.shape.target,
        shapes: tb.shapes,
        lines: { body, indexes },
        toast,
        maxLsn,
        truncates: tb.truncates,
        indexes: tb.indexes,
      });
    }
    return out;
  }
}
