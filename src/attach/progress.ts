import type { Admin } from "kafkajs";
import type { PgPool } from "../shared/postgres.js";
import { quoteTable, type TableRef, tableName } from "./tables.js";

/**
 * Snapshot progress, measured where both embedded and server ClickHouse can be seen
 * from another process: Kafka. `produced` is what Debezium has put on a table's topic,
 * `projected` what the projector's consumer group has committed (it commits only after
 * the rows are in ClickHouse).
 */
export interface TableProgress {
  table: string;
  topic: string;
  total: number;
  produced: number;
  projected: number;
}

/** Exact row counts when cheap enough, the planner's estimate otherwise. */
export async function rowTotals(
  pool: PgPool,
  tables: TableRef[],
  exactBelow = 5_000_000,
): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const t of tables) {
    const est = await pool.query<{ n: string }>(
      "SELECT greatest(coalesce(sum(c.reltuples), 0), 0)::bigint AS n FROM pg_class c WHERE c.oid = $1::regclass OR c.oid IN (SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf)",
      [quoteTable(t)],
    );
    const estimate = Number(est.rows[0]?.n ?? 0);
    if (estimate < exactBelow) {
      const exact = await pool.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${quoteTable(t)}`);
      totals.set(tableName(t), Number(exact.rows[0]!.n));
    } else totals.set(tableName(t), estimate);
  }
  return totals;
}

async function sumOffsets(admin: Admin, topic: string): Promise<number> {
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  } catch {
    return 0; // the topic does not exist yet
  }
}

export async function measureProgress(
  admin: Admin,
  groupId: string,
  topicPrefix: string,
  totals: Map<string, number>,
): Promise<TableProgress[]> {
  const topics = [...totals.keys()].map((t) => `${topicPrefix}.${t}`);
  const existing = new Set(await admin.listTopics());
  const committed = new Map<string, number>();
  const present = topics.filter((t) => existing.has(t));
  if (present.length) {
    for (const t of await admin.fetchOffsets({ groupId, topics: present })) {
      committed.set(
        t.topic,
        t.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0),
      );
    }
  }
  const out: TableProgress[] = [];
  for (const [table, total] of totals) {
    const topic = `${topicPrefix}.${table}`;
    out.push({
      table,
      topic,
      total,
      produced: existing.has(topic) ? await sumOffsets(admin, topic) : 0,
      projected: committed.get(topic) ?? 0,
    });
  }
  return out;
}

export function isSnapshotDone(progress: TableProgress[]): boolean {
  return progress.every((p) => p.projected >= p.total);
}

/** One line per table: rows done / total, rate and ETA from the last two samples. */
export function formatProgressLine(p: TableProgress, rowsPerSec: number): string {
  const pct = p.total === 0 ? 100 : Math.min(100, Math.floor((100 * p.projected) / p.total));
  const left = Math.max(0, p.total - p.projected);
  const eta = rowsPerSec > 0 && left > 0 ? `${Math.ceil(left / rowsPerSec)} s` : left === 0 ? "done" : "?";
  return `${p.table}: ${p.projected.toLocaleString("en-US")} / ${p.total.toLocaleString("en-US")} rows (${pct}%), ${Math.round(rowsPerSec).toLocaleString("en-US")} rows/s, ETA ${eta}`;
}
