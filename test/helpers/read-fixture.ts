import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { type ClickHouse, openClickHouse } from "../../src/clickhouse/client.js";
import { createReadApp, DEFAULT_DOMAIN_TABLES, type ReadAppLimits } from "../../src/read/app.js";
import type { FreshnessSource } from "../../src/read/freshness.js";
import { createLogger } from "../../src/shared/logger.js";

/**
 * A real embedded ClickHouse (own temp chDB directory) holding tables shaped exactly as the
 * projector makes them (src/projector/ddl.ts, types from src/cdc/types.ts), for read API tests
 * that need no Kafka. The pipeline tests use the real projector instead.
 */
export const META = "`_version` UInt64, `_deleted` UInt8, `_commit_ts` DateTime64(6, 'UTC'), `_lsn` UInt64";

export async function openTempClickHouse(
  prefix: string,
): Promise<{ ch: ClickHouse; dir: string; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-chdb-`));
  const ch = await openClickHouse(`chdb:${dir}`);
  return {
    ch,
    dir,
    cleanup: async () => {
      await ch.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function createShopTables(ch: ClickHouse, db: string): Promise<void> {
  const t = DEFAULT_DOMAIN_TABLES;
  await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  const ddl = [
    `CREATE TABLE ${db}.${t.customers} (id UUID, email String, name String, created_at DateTime64(6, 'UTC'), updated_at DateTime64(6, 'UTC'), version Int32, ${META}) ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY (id)`,
    `CREATE TABLE ${db}.${t.products} (id UUID, sku String, name String, price Decimal(12, 2), stock Int32, created_at DateTime64(6, 'UTC'), updated_at DateTime64(6, 'UTC'), version Int32, ${META}) ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY (id)`,
    `CREATE TABLE ${db}.${t.orders} (id UUID, customer_id UUID, status LowCardinality(String), total Decimal(14, 2), placed_at DateTime64(6, 'UTC'), updated_at DateTime64(6, 'UTC'), version Int32, note Nullable(String), ${META}) ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY (id)`,
    `CREATE TABLE ${db}.${t.orderLines} (order_id UUID, line_no Int32, product_id UUID, quantity Int32, unit_price Decimal(12, 2), ${META}) ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY (order_id, line_no)`,
    `CREATE TABLE ${db}._sidecar_progress (\`table\` String, source String, last_lsn UInt64, last_commit_ts DateTime64(6, 'UTC'), updated_at DateTime64(6, 'UTC')) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (\`table\`)`,
  ];
  for (const q of ddl) await ch.command({ query: q });
}

export const TEST_LIMITS: ReadAppLimits = {
  waitMs: 300,
  maxRows: 500,
  maxExecutionSeconds: 5,
  maxRangeDays: 366,
  readyMaxLagMs: 60_000,
};

export function readApp(
  ch: ClickHouse,
  db: string,
  freshness: FreshnessSource,
  token: string,
  limits: Partial<ReadAppLimits> = {},
  corsOrigins: string[] = [],
) {
  return createReadApp({
    clickhouse: ch,
    database: db,
    freshness,
    log: createLogger("silent"),
    limits: { ...TEST_LIMITS, ...limits },
    token,
    registry: new Registry(),
    catalogTtlMs: 0,
    corsOrigins,
  });
}
