import { targetTableName } from "../cdc/table.js";
import type { TableHealth } from "../projector/table-health.js";
import type { CopyResult } from "./copy.js";

/**
 * The projected tables' health after a snapshot copy that began at `startedAt`:
 * - a mark set before the copy began is cleared: the copy holds every row as of its snapshot and
 *   streaming goes on from there (a lost slot re-created, a retention gap, events set aside);
 * - rows the copy left out (values ClickHouse cannot hold exactly, named by preflight) make their
 *   table degraded, as a refused streamed row does, until the value is changed and the table repaired.
 */
export async function recordCopyHealth(
  result: Pick<CopyResult, "rows" | "refused">,
  startedAt: Date,
  health: TableHealth,
): Promise<void> {
  for (const name of Object.keys(result.rows)) {
    const dot = name.indexOf("."); // schema.table; preflight refuses names with dots in them
    const target = targetTableName(name.slice(0, dot), name.slice(dot + 1));
    if ((health.get(target)?.since ?? startedAt) < startedAt) health.clear(target);
  }
  for (const [source, r] of Object.entries(result.refused)) {
    health.mark(
      targetTableName(r.schema, r.table),
      source,
      `the snapshot left out ${r.rows} row(s): values ClickHouse cannot hold exactly in ${r.columns.join(", ")}`,
    );
  }
  await health.flush();
}
