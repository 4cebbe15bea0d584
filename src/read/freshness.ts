import { formatLsn } from "../shared/lsn.js";

/**
 * How fresh the projection is, and waiting for a write's consistency token.
 *
 * The projector's watermark means: every change with a WAL position below `lsn` is in
 * ClickHouse. A write's token is `pg_current_wal_insert_lsn()` read after its COMMIT, so
 * the write is visible to reads once `watermark.lsn >= token`.
 */
export interface Watermark {
  /** WAL position every change below which is in ClickHouse. */
  lsn: bigint;
  /** Source commit time of the newest change (or heartbeat) the projection includes; null before the first. */
  commitTime: Date | null;
  /** When the projector last confirmed or advanced this watermark (heartbeats included); defaults to commitTime. */
  updatedAt?: Date | null;
}

/**
 * Where the read side learns the watermark. Two implementations:
 * - `projectorFreshness(projector)` (progress.ts): project and read in one process (embedded chDB): the
 *   projector's in-memory watermarks, per table too.
 * - `progressTableFreshness(...)`: read API in its own process against a ClickHouse server: the progress table.
 */
export interface FreshnessSource {
  /** The current watermark, or null when the projection has none yet. */
  watermark(): Promise<Watermark | null>;
  /**
   * The watermark for reads of these projected tables only (at least `watermark()`); sources
   * that cannot tell tables apart leave it out and every read waits for the global one.
   */
  watermarkFor?(tables: readonly string[]): Promise<Watermark | null>;
  /** How often a waiting read polls `watermark()`, in ms. */
  readonly pollMs: number;
  /** Projected tables marked degraded (an event set aside until the table is repaired); none when absent. */
  degraded?(): Promise<DegradedTable[]>;
}

/** A projected table whose projection may differ from the source until it is repaired. */
export interface DegradedTable {
  table: string;
  reason: string;
  since: string;
}

/** In-process source: `fn` is a watermark function (sync or async); tests and benchmarks use it. */
export function memoryFreshness(
  fn: () => Watermark | null | undefined | Promise<Watermark | null | undefined>,
  pollMs = 10,
): FreshnessSource {
  return {
    pollMs,
    async watermark() {
      return (await fn()) ?? null;
    },
  };
}

/** A freshness block every read answer carries. */
export interface FreshnessBlock {
  /**
   * Watermark LSN in Postgres text form ("0/1A2B3C4"); null before the first event, and for reads
   * of MySQL/MariaDB tables only when no Postgres source is captured.
   */
  lsn: string | null;
  /** Last source commit time the projection includes, ISO 8601, or null. */
  commitTime: string | null;
  /** now − commitTime in ms (0 when commitTime is in the future by clock skew), or null. */
  lagMs: number | null;
  /** The consistency token this read waited for, when it carried one. */
  token?: string;
  /** Time spent waiting for the token, in ms. */
  waitedMs?: number;
  /** Tables of this answer that are degraded: their rows may differ from the source until repaired. */
  degraded?: DegradedTable[];
}

/** The degraded tables among `tables` (all of them for a read not tied to tables). */
export async function degradedAmong(source: FreshnessSource, tables?: readonly string[]): Promise<DegradedTable[]> {
  const all = (await source.degraded?.().catch(() => [])) ?? [];
  return tables && tables.length > 0 ? all.filter((d) => tables.includes(d.table)) : all;
}

/** Adds the degraded list to a block when there is one (answers stay as they were for healthy tables). */
export function withDegraded(block: FreshnessBlock, degraded: DegradedTable[]): FreshnessBlock {
  return degraded.length > 0 ? { ...block, degraded } : block;
}

export function freshnessBlock(w: Watermark | null, now = Date.now()): FreshnessBlock {
  if (!w) return { lsn: null, commitTime: null, lagMs: null };
  return {
    lsn: w.lsn > 0n ? formatLsn(w.lsn) : null, // 0 is no WAL position (a MySQL-only read)
    commitTime: w.commitTime ? w.commitTime.toISOString() : null,
    lagMs: w.commitTime ? Math.max(0, now - w.commitTime.getTime()) : null,
  };
}

export type WaitOutcome =
  | { ok: true; watermark: Watermark; waitedMs: number }
  | { ok: false; watermark: Watermark | null; waitedMs: number };

/** The watermark a read of `tables` may rely on (all tables: the global one). */
export function watermarkOf(source: FreshnessSource, tables?: readonly string[]): Promise<Watermark | null> {
  return tables && tables.length > 0 && source.watermarkFor ? source.watermarkFor(tables) : source.watermark();
}

/** Polls the source until its watermark (for `tables`, when given) reaches `lsn` or `timeoutMs` passes. */
export async function waitForLsn(
  source: FreshnessSource,
  lsn: bigint,
  timeoutMs: number,
  tables?: readonly string[],
): Promise<WaitOutcome> {
  const start = Date.now();
  const deadline = start + timeoutMs;
  for (;;) {
    const w = await watermarkOf(source, tables);
    if (w && w.lsn >= lsn) return { ok: true, watermark: w, waitedMs: Date.now() - start };
    const left = deadline - Date.now();
    if (left <= 0) return { ok: false, watermark: w, waitedMs: Date.now() - start };
    await new Promise((r) => setTimeout(r, Math.min(source.pollMs, left)));
  }
}
