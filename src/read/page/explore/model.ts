import type { Freshness } from "../api.js";

/** What GET /api/tables?stats=true says about a table. */
export interface TableMeta {
  name: string;
  primaryKey: string[];
  columns: { name: string; type: string }[];
  rows?: number | null;
  freshness?: (Freshness & { degraded?: { table: string; reason: string; since: string }[] }) | null;
  /** Set when a table's events went to the dead-letter topic (a flag, or in its freshness block; may be absent). */
  /** Set by GET /api/tables while the table is degraded. */
  degraded?: { reason: string; since: string };
}

/** What the explore view last drew, for tests and for a look in the console. */
export interface ExploreProbe {
  renders: number;
  /** A load is running or queued: what is on screen may be about to change. */
  busy: boolean;
  tables: { name: string; rows: number | null; health: string }[];
  table: { name: string; columns: string[]; rows: Record<string, unknown>[]; count: number | null } | null;
  chart: { kind: string; labels: string[]; values: (number | null)[]; truncated: boolean } | null;
  csv: { bytes: number; cap: number; truncated: boolean } | null;
}

declare global {
  interface Window {
    __explore: ExploreProbe;
  }
}
window.__explore = { renders: 0, busy: false, tables: [], table: null, chart: null, csv: null };

/** What the server allows (GET /api/tables says): READ_MAX_ROWS. */
export const serverLimits = { maxRows: 1000 };

/** Why a table is degraded (undefined: it is not): its own flag, or its freshness block's list. */
export function degradedReason(t: TableMeta): string | undefined {
  const mark = t.degraded ?? t.freshness?.degraded?.find((d) => d.table === t.name);
  return mark ? `${mark.reason} (since ${mark.since})` : undefined;
}

/** healthy: lag under a minute and not degraded; behind: older; waiting: nothing projected yet. */
export function healthOf(t: TableMeta): "healthy" | "behind" | "waiting" | "degraded" {
  if (degradedReason(t) !== undefined) return "degraded";
  const lag = t.freshness?.lagMs ?? null;
  if (lag === null) return "waiting";
  return lag < 60_000 ? "healthy" : "behind";
}
