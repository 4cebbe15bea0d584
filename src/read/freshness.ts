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
 * - `memoryFreshness(fn)`: project and read in one process (embedded chDB): the projector's in-memory watermark.
 * - `progressTableFreshness(...)`: read API in its own process against a ClickHouse server: the progress table.
 */
export interface FreshnessSource {
  /** The current watermark, or null when the projection has none yet. */
  watermark(): Promise<Watermark | null>;
  /** How often a waiting read polls `watermark()`, in ms. */
  readonly pollMs: number;
}

/** In-process source: `fn` is the projector's `watermark()` (sync or async). */
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
  /** Watermark LSN in Postgres text form ("0/1A2B3C4"), or null before the first event. */
  lsn: string | null;
  /** Last source commit time the projection includes, ISO 8601, or null. */
  commitTime: string | null;
  /** now − commitTime in ms (0 when commitTime is in the future by clock skew), or null. */
  lagMs: number | null;
  /** The consistency token this read waited for, when it carried one. */
  token?: string;
  /** Time spent waiting for the token, in ms. */
  waitedMs?: number;
}

export function freshnessBlock(w: Watermark | null, now = Date.now()): FreshnessBlock {
  if (!w) return { lsn: null, commitTime: null, lagMs: null };
  return {
    lsn: formatLsn(w.lsn),
    commitTime: w.commitTime ? w.commitTime.toISOString() : null,
    lagMs: w.commitTime ? Math.max(0, now - w.commitTime.getTime()) : null,
  };
}

export type WaitOutcome =
  | { ok: true; watermark: Watermark; waitedMs: number }
  | { ok: false; watermark: Watermark | null; waitedMs: number };

/** Polls the source until its watermark reaches `lsn` or `timeoutMs` passes. */
export async function waitForLsn(source: FreshnessSource, lsn: bigint, timeoutMs: number): Promise<WaitOutcome> {
  const start = Date.now();
  const deadline = start + timeoutMs;
  for (;;) {
    const w = await source.watermark();
    if (w && w.lsn >= lsn) return { ok: true, watermark: w, waitedMs: Date.now() - start };
    const left = deadline - Date.now();
    if (left <= 0) return { ok: false, watermark: w, waitedMs: Date.now() - start };
    await new Promise((r) => setTimeout(r, Math.min(source.pollMs, left)));
  }
}
