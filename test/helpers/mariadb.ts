import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Admin, Kafka } from "kafkajs";
import type { AttachRequest } from "../../src/attach/attach.js";
import { attachNames, type TableRef } from "../../src/attach/tables.js";
import { formatVerifyReport, type VerifyReport } from "../../src/attach/verify.js";
import { type ClickHouse, openClickHouse } from "../../src/clickhouse/client.js";
import { ConnectClient } from "../../src/connect/connect-client.js";
import { attachMysql, detachMysql, type MysqlDeps } from "../../src/mysql/attach.js";
import { signalTable } from "../../src/mysql/connector.js";
import { type MysqlPool, openMysql, parseMysqlUrl, quoteMy } from "../../src/mysql/source.js";
import { verifyMysqlAttachment } from "../../src/mysql/verify.js";
import { type Projector, startProjector } from "../../src/projector/projector.js";
import type { Config } from "../../src/shared/config.js";
import { createKafka } from "../../src/shared/kafka.js";
import { createLogger } from "../../src/shared/logger.js";
import { registerTestResources, unregisterTestResources } from "./leftovers.js";
import { fixtureConfig, stackEnv } from "./stack.js";

/**
 * The MariaDB of the native stack for the MySQL/MariaDB tests: MARIADB_URL, or the stack's default.
 * Not running: `stack.sh mariadb` installs (Debian's mariadb-server-core) and starts it, so
 * `make test` on a fresh clone needs nothing more.
 */
export function mariadbUrl(): string {
  return process.env.MARIADB_URL ?? "mariadb://root:mariadb@127.0.0.1:53306";
}

export async function ensureMariadb(): Promise<void> {
  const source = parseMysqlUrl(mariadbUrl());
  const up = await openMysql(source, 1).then(
    (p) => p.end().then(() => true),
    () => false,
  );
  if (!up)
    execFileSync("bash", ["stack/stack.sh", "mariadb"], {
      stdio: "inherit",
      env: { ...process.env, MARIADB_PORT: String(source.port) },
    });
}

/**
 * One MariaDB attachment for a test file on the shared stack: its own database in MariaDB, name,
 * topic prefix, consumer group and chDB directory, the real projector in this process.
 */
export interface MysqlFixture {
  id: string;
  name: string;
  db: string;
  config: Config;
  pool: MysqlPool;
  kafka: Kafka;
  admin: Admin;
  ch: ClickHouse;
  lines: string[];
  deps(): MysqlDeps;
  sql(statement: string, params?: unknown[]): Promise<unknown>;
  ref(table: string): TableRef;
  topic(table: string): string;
  attach(tables: string[], req?: Partial<AttachRequest>): Promise<void>;
  startProjector(): Promise<Projector>;
  stopProjector(): Promise<void>;
  /** The projector running in this process, if any. */
  projector(): Projector | undefined;
  verify(tables?: string[]): Promise<VerifyReport & { text: string }>;
  /** verify until clean (the projection may still be applying the last batch), else the last report. */
  expectClean(what: string): Promise<VerifyReport & { text: string }>;
  waitFor(what: string, fn: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function createMysqlFixture(label: string): Promise<MysqlFixture> {
  await ensureMariadb();
  const id = `${label}${randomBytes(3).toString("hex")}`;
  const name = `${label}_${id}`;
  const db = `m_${id}`;
  const names = attachNames(name);
  const chdbDir = mkdtempSync(join(tmpdir(), `${label}-chdb-`));
  const stack = stackEnv();
  const config = fixtureConfig({ prefix: "mt", group: "mysql-test", id, chdbDir });
  const source = parseMysqlUrl(mariadbUrl());
  const pool = await openMysql(source, 4);
  await pool.query(`CREATE DATABASE ${quoteMy(db)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const kafka = createKafka(config.KAFKA_BROKERS, `test-${name}`);
  const admin = kafka.admin();
  await admin.connect();
  const ch = await openClickHouse(config.CLICKHOUSE_URL);
  // Registered so that a later run removes the connector if this one is interrupted.
  await registerTestResources(stack, {
    connector: names.connector,
    slot: `none_${id}`,
    publication: `none_${id}`,
    schemas: [],
  });
  const lines: string[] = [];
  let projector: Projector | undefined;
  const connect = new ConnectClient(config.KAFKA_CONNECT_URL);
  const deps = (): MysqlDeps => ({
    pool,
    source,
    admin,
    connect,
    config,
    io: { out: (l) => lines.push(l) },
    clickhouse: ch,
  });
  const fx: MysqlFixture = {
    id,
    name,
    db,
    config,
    pool,
    kafka,
    admin,
    ch,
    lines,
    deps,
    sql: async (statement, params = []) => (await pool.query(statement, params))[0],
    ref: (table) => ({ schema: db, table }),
    topic: (table) => `${config.TOPIC_PREFIX}.${db}.${table}`,
    async attach(tables, req = {}) {
      // The copy runs here (this process holds ClickHouse); the projector streams what follows.
      await attachMysql(deps(), { name, tables: tables.map(fx.ref), ...req });
      if (req.checkOnly) return;
      projector ??= await fx.startProjector();
    },
    async startProjector() {
      projector = await startProjector(config, { clickhouse: ch, log: createLogger(config.LOG_LEVEL) });
      return projector;
    },
    async stopProjector() {
      await projector?.stop();
      projector = undefined;
    },
    projector: () => projector,
    async verify(tables) {
      const report = await verifyMysqlAttachment(
        deps(),
        { kind: "clickhouse", client: ch, database: config.CLICKHOUSE_DATABASE },
        name,
        {
          tables: tables?.map((t) => `${db}.${t}`).join(","),
          examples: 10,
          waitMs: 120_000,
          chunkRows: 10_000,
        },
      );
      return { ...report, text: formatVerifyReport(report) };
    },
    async expectClean(what) {
      let report = await fx.verify();
      for (let i = 0; i < 10 && !report.ok; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        report = await fx.verify();
      }
      if (!report.ok) throw new Error(`verify after ${what} is not clean:\n${report.text}`);
      return report;
    },
    async waitFor(what, fn, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await fn())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    async close() {
      await projector?.stop().catch(() => undefined);
      await detachMysql(deps(), name).catch((e) => console.error("detach:", e));
      await pool.query(`DROP DATABASE IF EXISTS ${quoteMy(db)}`).catch(() => undefined);
      const signal = signalTable(names.connector);
      await pool
        .query(`DROP TABLE IF EXISTS ${quoteMy(signal.schema)}.${quoteMy(signal.table)}`)
        .catch(() => undefined);
      await pool.end();
      await unregisterTestResources(stack, names.connector).catch(() => undefined);
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${config.TOPIC_PREFIX}.`));
      if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
      await admin.deleteGroups([config.PROJECTOR_GROUP]).catch(() => undefined);
      await admin.disconnect();
      await ch.close().catch(() => undefined); // a test may have closed it already
      rmSync(chdbDir, { recursive: true, force: true });
    },
  };
  return fx;
}
