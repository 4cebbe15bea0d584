import type { Watermark } from "./watermark.js";

/** What the progress table gets: rows written per table, and the published watermarks. */
export interface ProgressEntry {
  table: string;
  source: string;
  lsn: bigint;
  commitTsUs: bigint;
}

/**
 * The progress table's rows, kept in memory between flushes: per projected table the newest LSN
 * stored, the global watermark (WATERMARK_ROW) and the per-table watermarks (for a read API in
 * its own process). A flush writes only what moved since the last one.
 */
export class ProgressWriter {
  private readonly tables = new Map<string, ProgressEntry & { dirty: boolean }>();
  private lastWatermark = -1n;
  private readonly lastTableWatermark = new Map<string, bigint>();

  constructor(
    private readonly rows: { watermark: string; tableWatermark: (target: string) => string },
    private readonly write: (entries: ProgressEntry[]) => Promise<void>,
  ) {}

  /** A table's rows up to `lsn` are stored. */
  recordStored(target: string, source: string, lsn: bigint, commitTsUs: bigint): void {
    const prev = this.tables.get(target);
    if (!prev || lsn > prev.lsn) this.tables.set(target, { table: target, source, lsn, commitTsUs, dirty: true });
  }

  /** Writes what moved: the tables' rows, the global watermark, and each table's watermark ahead of the last written. */
  async flush(global: Watermark | undefined, perTable: [target: string, w: Watermark | undefined][]): Promise<void> {
    const entries: ProgressEntry[] = [...this.tables.values()]
      .filter((p) => p.dirty)
      .map(({ table, source, lsn, commitTsUs }) => ({ table, source, lsn, commitTsUs }));
    if (global && global.lsn > this.lastWatermark)
      entries.push({ table: this.rows.watermark, source: "", lsn: global.lsn, commitTsUs: global.commitTsUs });
    const tableMarks: [string, bigint][] = [];
    for (const [target, w] of perTable) {
      if (!w || w.lsn <= (this.lastTableWatermark.get(target) ?? -1n)) continue;
      entries.push({ table: this.rows.tableWatermark(target), source: "", lsn: w.lsn, commitTsUs: w.commitTsUs });
      tableMarks.push([target, w.lsn]);
    }
    if (entries.length === 0) return;
    await this.write(entries);
    for (const e of entries) {
      const p = this.tables.get(e.table);
      if (p && p.lsn === e.lsn) p.dirty = false;
    }
    if (global) this.lastWatermark = global.lsn;
    for (const [target, lsn] of tableMarks) this.lastTableWatermark.set(target, lsn);
  }
}
