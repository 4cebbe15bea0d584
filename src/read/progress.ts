import { type ClickHouse, quoteIdent, toBigInt } from "../clickhouse/client.js";
import type { FreshnessSource, Watermark } from "./freshness.js";

/** The projector's progress table and the row holding its published watermark (src/projector/ddl.ts). */
export const PROGRESS_TABLE = "_sidecar_progress";
export const WATERMARK_ROW = "__watermark__";

/** `YYYY-MM-DD hh:mm:ss.ffffff` (UTC) → Date (ms precision). */
export function parseClickHouseUtc(text: string): Date | null {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?/.exec(text);
  if (!m) return null;
  const d = new Date(`${m[1]}T${m[2]}${(m[3] ?? "").slice(0, 4)}Z`);
  return Number.isNaN(d.getTime()) || d.getTime() <= 0 ? null : d;
}

/**
 * Watermark read from the progress table: for a read API in its own process against a
 * ClickHouse server. Answers are cached for `pollMs`, so a burst of reads costs one query.
 */
export function progressTableFreshness(
  ch: ClickHouse,
  database: string,
  opts: { pollMs?: number } = {},
): FreshnessSource {
  const pollMs = opts.pollMs ?? 100;
  const sql = `SELECT last_lsn, toString(last_commit_ts) AS commit_ts, toString(updated_at) AS updated FROM ${quoteIdent(database)}.${quoteIdent(
    PROGRESS_TABLE,
  )} FINAL WHERE \`table\` = {row:String} LIMIT 1`;
  let cached: { at: number; value: Promise<Watermark | null> } | undefined;
  async function load(): Promise<Watermark | null> {
    try {
      const rs = await ch.query({ query: sql, query_params: { row: WATERMARK_ROW }, format: "JSONEachRow" });
      const [row] = await rs.json<{ last_lsn: unknown; commit_ts: string; updated: string }>();
      if (!row) return null;
      return {
        lsn: toBigInt(row.last_lsn),
        commitTime: parseClickHouseUtc(row.commit_ts),
        updatedAt: parseClickHouseUtc(row.updated),
      };
    } catch {
      return null; // no progress table yet, or ClickHouse down: "no watermark" (reads with a token then wait / 503)
    }
  }
  return {
    pollMs,
    watermark() {
      const now = Date.now();
      if (!cached || now - cached.at >= pollMs) cached = { at: now, value: load() };
      return cached.value;
    },
  };
}

/** Shape of the projector's published watermark (src/projector/projector.ts), kept structural: read does not import projector. */
export interface ProjectorWatermark {
  lsn: bigint;
  /** Source commit time, µs since the epoch. */
  commitTsUs: bigint;
  /** When the projector published it. */
  publishedAt: Date | number;
}

export function fromProjectorWatermark(w: ProjectorWatermark | null | undefined): Watermark | null {
  if (!w) return null;
  const commitMs = Number(w.commitTsUs / 1000n);
  return { lsn: w.lsn, commitTime: commitMs > 0 ? new Date(commitMs) : null, updatedAt: new Date(w.publishedAt) };
}

/**
 * Project and read in one process (embedded chDB): the projector's `watermark()` and
 * `watermarkFor(tables)` as a FreshnessSource.
 */
export function projectorFreshness(
  projector: {
    watermark(): ProjectorWatermark | null | undefined;
    watermarkFor(targets: readonly string[]): ProjectorWatermark | null | undefined;
  },
  pollMs = 10,
): FreshnessSource {
  return {
    pollMs,
    async watermark() {
      return fromProjectorWatermark(projector.watermark());
    },
    async watermarkFor(tables) {
      return fromProjectorWatermark(projector.watermarkFor(tables));
    },
  };
}
