import { targetTableName } from "../cdc/table.js";
import type { TableHealth } from "../projector/table-health.js";
import type { CopyResult } from "./copy.js";

/**
 * Rows the snapshot copy left out (values ClickHouse cannot hold exactly, named by preflight)
 * make their table degraded, as a refused streamed row does: the projection lacks rows the
 * source has until the value is changed at the source and the table repaired.
 */
export async function markRefused(result: Pick<CopyResult, "refused">, health: TableHealth): Promise<void> {
  const refused = Object.entries(result.refused);
  if (refused.length === 0) return;
  for (const [source, r] of refused) {
    health.mark(
      targetTableName(r.schema, r.table),
      source,
      `the snapshot left out ${r.rows} row(s): values ClickHouse cannot hold exactly in ${r.columns.join(", ")}`,
    );
  }
  await health.flush();
}
