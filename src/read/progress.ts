import { type ClickHouse, quoteIdent, toBigInt } from "../clickhouse/client.js";
import { lowestWatermark, type MergeableWatermark } from "../shared/lsn.js";
import type { DegradedTable, FreshnessSource, Watermark } from "./freshness.js";

/** The projector's progress table and the row holding its published watermark (src/projector/ddl.ts). */
export const PROGRESS_TABLE = "_sidecar_progress";
export const WATERMARK_ROW = "__watermark__";
/** The row of one projected table's watermark (src/projector/ddl.ts tableWatermarkRow). */
export const tableWatermarkRow = (table: string): string => `${WATERMARK_ROW}:${table}`;
/** The `source` of a table's watermark row dated by its own binlog clock (src/projector/progress-writer.ts). */
export const BINLOG_CLOCK_SOURCE = "binlog";
/** The projector's degraded marks (src/projector/ddl.ts HEALTH_TABLE). */
export const HEALTH_TABLE = "_sidecar_table_health";

/** `YYYY-MM-DD hh:mm:ss.ffffff` (UTC) → Date (ms precision). */
export function parseClickHouseUtc(text: string): Date | null {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?/.exec(text);
  if (!m) return null;
  const d = new Date(`${m[1]}T${m[2]}${(m[3] ?? "").slice(0, 4)}Z`);
  return Number.isNaN(d.getTime()) || d.getTime() <= 0 ? null : d;
}

/**
 * Watermark read from the progress table: for a read API in its own process against a
 * ClickHouse server. The global row, and for reads of some tables their own rows (the
 * projector writes both every PROJECTOR_PROGRESS_INTERVAL_MS). Answers are cached for
 * `pollMs`, so a burst of reads costs one query.
 */
export function progressTableFreshness(
  ch: ClickHouse,
  database: string,
  opts: { pollMs?: number } = {},
): FreshnessSource {
  const pollMs = opts.pollMs ?? 100;
  const sql = `SELECT \`table\` AS progress_row, source, last_lsn, toString(last_commit_ts) AS commit_ts, toString(updated_at) AS updated FROM ${quoteIdent(database)}.${quoteIdent(
    PROGRESS_TABLE,
  )} FINAL WHERE \`table\` IN {rows:Array(String)}`;
  const cache = new Map<string, { at: number; value: Promise<Watermark | null> }>();
  async function load(tables: readonly string[]): Promise<Watermark | null> {
    try {
      const rows = [WATERMARK_ROW, ...tables.map(tableWatermarkRow)];
      const rs = await ch.query({ query: sql, query_params: { rows }, format: "JSONEachRow" });
      const found = new Map<string, MergeableWatermark>();
      for (const r of await rs.json<{
        progress_row: string;
        source: string;
        last_lsn: unknown;
        commit_ts: string;
        updated: string;
      }>()) {
        found.set(r.progress_row, {
          lsn: toBigInt(r.last_lsn),
          commitTsUs: BigInt(parseClickHouseUtc(r.commit_ts)?.getTime() ?? 0) * 1000n,
          publishedAt: parseClickHouseUtc(r.updated)?.getTime() ?? 0,
          ownClock: r.source === BINLOG_CLOCK_SOURCE,
        });
      }
      return fromProjectorWatermark(
        lowestWatermark(tables, (t) => found.get(tableWatermarkRow(t)), found.get(WATERMARK_ROW)),
      );
    } catch {
      return null; // no progress table yet, or ClickHouse down: "no watermark" (reads with a token then wait / 503)
    }
  }
  const cached = (tables: readonly string[]) => {
    const key = tables.join("\u0000");
    const now = Date.now();
    let hit = cache.get(key);
    if (!hit || now - hit.at >= pollMs) {
      if (cache.size > 1000) cache.clear();
      hit = { at: now, value: load(tables) };
      cache.set(key, hit);
    }
    return hit.value;
  };
  const healthSql = `SELECT \`table\`, reason, toString(since) AS since FROM ${quoteIdent(database)}.${quoteIdent(HEALTH_TABLE)} FINAL WHERE degraded = 1`;
  let health: { at: number; value: Promise<DegradedTable[]> } | undefined;
  const degraded = () => {
    if (!health || Date.now() - health.at >= pollMs) {
      const value = ch
        .query({ query: healthSql, format: "JSONEachRow" })
        .then((rs) => rs.json<{ table: string; reason: string; since: string }>())
        .then((rows) => rows.map((r) => ({ table: r.table, reason: r.reason, since: utcIso(r.since) })))
        .catch(() => []); // no health table yet: nothing is degraded
      health = { at: Date.now(), value };
    }
    return health.value;
  };
  return {
    pollMs,
    watermark: () => cached([]),
    watermarkFor: (tables) => cached(tables),
    degraded,
  };
}

const utcIso = (text: string) => parseClickHouseUtc(text)?.toISOString() ?? text;

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
  const at = new Date(w.publishedAt);
  return { lsn: w.lsn, commitTime: commitMs > 0 ? new Date(commitMs) : null, updatedAt: at.getTime() > 0 ? at : null };
}

/**
 * Project and read in one process (embedded chDB): the projector's `watermark()` and
 * `watermarkFor(tables)` as a FreshnessSource.
 */
export function projectorFreshness(
  projector: {
    watermark(): ProjectorWatermark | null | undefined;
    watermarkFor(targets: readonly string[]): ProjectorWatermark | null | undefined;
    degraded?(): { target: string; reason: string; since: Date }[];
  },
  pollMs = 10,
): FreshnessSource {
  return {
    pollMs,
    async degraded() {
      return (projector.degraded?.() ?? []).map((d) => ({
        table: d.target,
        reason: d.reason,
        since: d.since.toISOString(),
      }));
    },
    async watermark() {
      return fromProjectorWatermark(projector.watermark());
    },
    async watermarkFor(tables) {
      return fromProjectorWatermark(projector.watermarkFor(tables));
    },
  };
}
