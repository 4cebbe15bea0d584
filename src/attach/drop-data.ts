import { targetTableName } from "../cdc/table.js";
import { dropTableSql, forgetProgressSql } from "../projector/ddl.js";
import type { Config } from "../shared/config.js";
import { sendControl } from "../shared/control.js";
import { createKafka } from "../shared/kafka.js";
import { openProjectionClickHouse } from "./clickhouse-tables.js";
import type { TableRef } from "./tables.js";

/**
 * Drops an attachment's projected tables: directly when this process can open ClickHouse (a
 * server, or an embedded directory no process holds), else through the running sidecar that
 * holds the embedded directory (the control topic, src/shared/control.ts).
 */
export async function dropProjectedTables(config: Config, tables: TableRef[]): Promise<string[]> {
  const targets = tables.map((t) => targetTableName(t.schema, t.table));
  const ch = await openProjectionClickHouse(config);
  if (!ch) {
    const kafka = createKafka(config.KAFKA_BROKERS, "cqrs-sidecar-detach");
    const answer = await sendControl(kafka, config.TOPIC_PREFIX, { op: "drop-tables", targets });
    if (!answer.ok) throw new Error(`the running sidecar could not drop the tables: ${answer.detail}`);
    return targets;
  }
  try {
    const ddl = { database: config.CLICKHOUSE_DATABASE, cluster: config.CLICKHOUSE_CLUSTER };
    for (const t of targets) {
      await ch.command({ query: dropTableSql(ddl, t) });
      await ch.command({ query: forgetProgressSql(ddl), query_params: { t } }).catch(() => undefined); // none yet
    }
  } finally {
    await ch.close();
  }
  return targets;
}
