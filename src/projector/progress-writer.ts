import type { DatedWatermark } from "./binlog-clock.js";

/** What the progress table gets: rows written per table, and the published watermarks. */
export interface ProgressEntry {
  table: string;
  source: string;
  lsn: bigint;
  commitTsUs: bigint;
}

/** The `source` of a watermark row dated by a binlog clock (src/projector/binlog-clock.ts). */
export const BINLOG_CLOCK_SOURCE = "binlog";

/**
 * The progress table's rows, kept in memory between flushes: per projected table the newest LSN
 * stored, the global watermark (WATERMARK_ROW) and the per-table watermarks (for a read API in
 * its own process). A flush writes only what moved ahead since the last one.
 */
export class ProgressWriter {
  private readonly tables = new Map<string, ProgressEntry & { dirty: boolean }>();
  private lastWatermark: DatedWatermark | undefined;
  private readonly lastTableWatermark = new Map<string, DatedWatermark>();

  constructor(
    private readonly rows: { watermark: string; tableWatermark: (target: string) => string },
    private readonly write: (entries: ProgressEntry[]) => Promise<void>,
  ) {}

  /** A table's rows up to `lsn` are stored. */
  recordStored(target: string, source: string, lsn: bigint, commitTsUs: bigint): void {
    const prev = this.tables.get(target);
    if (!prev || lsn > prev.lsn) this.tables.set(target, { table: target, source, lsn, commitTsUs, dirty: true });
  }

  /** Writes what moved: the tables' rows, the global watermark, and each table's watermark. */
  async flush(
    global: DatedWatermark | undefined,
    perTable: [target: string, w: DatedWatermark | undefined][],
  ): Promise<void> {
    const entries: ProgressEntry[] = [...this.tables.values()]
      .filter((p) => p.dirty)
      .map(({ table, source, lsn, commitTsUs }) => ({ table, source, lsn, commitTsUs }));
    const globalMoved = global && movedAhead(global, this.lastWatermark);
    if (global && globalMoved) entries.push(watermarkEntry(this.rows.watermark, global));
    const tableMarks: [string, DatedWatermark][] = [];
    for (const [target, w] of perTable) {
      if (!w || !movedAhead(w, this.lastTableWatermark.get(target))) continue;
      entries.push(watermarkEntry(this.rows.tableWatermark(target), w));
      tableMarks.push([target, w]);
    }
    if (entries.length === 0) return;
    await this.write(entries);
    for (const e of entries) {
      const p = this.tables.get(e.table);
      if (p && p.lsn === e.lsn) p.dirty = false;
    }
    if (globalMoved) this.lastWatermark = global;
    for (const [target, w] of tableMarks) this.lastTableWatermark.set(target, w);
  }
}

/** A watermark row is written again when its position or its time moved ahead (a binlog clock's time moves alone). */
const movedAhead = (w: DatedWatermark, last: DatedWatermark | undefined) =>
  !last || w.lsn > last.lsn || w.commitTsUs > last.commitTsUs;

const watermarkEntry = (table: string, w: DatedWatermark): ProgressEntry => ({
  table,
  source: w.ownClock ? BINLOG_CLOCK_SOURCE : "",
  lsn: w.lsn,
  commitTsUs: w.commitTsUs,
});
