import { AttachError } from "../attach/errors.js";
import { askSidecarToCopy, copyWithSink, progressDisplay } from "../attach/own-snapshot.js";
import { attachNames, type TableRef } from "../attach/tables.js";
import type { CopyResult } from "../snapshot/copy.js";
import type { MysqlDeps } from "./attach.js";
import { connectorBinlog, formatBinlog } from "./binlog.js";
import { copyMysqlSnapshot } from "./copy.js";

/**
 * The rows of newly captured MySQL/MariaDB tables, copied by the sidecar (src/mysql/copy.ts) once
 * the connector streams. The connector has a committed offset only after it has started reading
 * the binlog (its heartbeats commit one every half second), so waiting for it puts the
 * connector's start at or before the copy's snapshot: every change after the copy is streamed.
 * The copy runs where ClickHouse is: here when this process holds it, else in the running sidecar.
 */
export async function copyMysqlTables(
  deps: MysqlDeps,
  name: string,
  tables: TableRef[],
  totals: Map<string, number>,
): Promise<CopyResult> {
  const connector = attachNames(name).connector;
  const from = await waitStreaming(deps, connector);
  deps.io.out(`connector ${connector} streams from ${formatBinlog(from)}; copying`);
  const display = progressDisplay(deps, totals);
  try {
    const result = deps.clickhouse
      ? await copyWithSink(deps.config, deps.clickhouse, (sink) =>
          copyMysqlSnapshot(deps.pool, tables, sink, deps.config.CLICKHOUSE_DATABASE, display.add),
        )
      : await askSidecarToCopy(deps.config, { op: "mysql-snapshot", connector, tables }, display.set);
    display.done(result);
    return result;
  } finally {
    display.stop();
  }
}

async function waitStreaming(deps: MysqlDeps, connector: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = await connectorBinlog(deps.config.KAFKA_CONNECT_URL, connector);
    if (at) return at;
    if (Date.now() > deadline)
      throw new AttachError(
        `connector ${connector} has not committed a binlog position ${timeoutMs / 1000} s after it started: see its task's trace (status)`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}
