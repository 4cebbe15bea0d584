import type { AttachIO } from "../attach/attach.js";
import { parseTableList, parseTableRef } from "../attach/tables.js";
import { formatVerifyReport, type ProjectionReader } from "../attach/verify.js";
import { ConnectClient } from "../connect/connect-client.js";
import { addMysqlTables, attachMysql, detachMysql, type MysqlDeps, mysqlStatus } from "../mysql/attach.js";
import { openMysql, parseMysqlUrl } from "../mysql/source.js";
import { verifyMysqlAttachment } from "../mysql/verify.js";
import { type Config, loadConfig } from "../shared/config.js";
import { createKafka } from "../shared/kafka.js";

/**
 * The attach commands for a mysql:// or mariadb:// --database-url: the same options and output as
 * for Postgres (src/main/attach-commands.ts hands over here), run by src/mysql/*.
 */
export async function withMysqlDeps<T>(
  url: string,
  io: AttachIO,
  fn: (deps: MysqlDeps) => Promise<T>,
  config: Config = loadConfig(process.env),
): Promise<T> {
  const source = parseMysqlUrl(url);
  const pool = await openMysql(source);
  const admin = createKafka(config.KAFKA_BROKERS, "cqrs-sidecar-attach").admin();
  try {
    await admin.connect();
    return await fn({ pool, source, admin, connect: new ConnectClient(config.KAFKA_CONNECT_URL), config, io });
  } finally {
    await admin.disconnect().catch(() => undefined);
    await pool.end();
  }
}

export async function mysqlAttachCommand(opts: Record<string, unknown>, io: AttachIO): Promise<void> {
  if (opts.tables && opts.schema) throw new Error("give --tables or --schema, not both");
  await withMysqlDeps(opts.databaseUrl as string, io, async (deps) => {
    const base = {
      name: opts.name as string,
      noKey: opts.keyless as "full" | "skip" | undefined,
      checkOnly: opts.check as boolean | undefined,
      wait: opts.wait as boolean | undefined,
    };
    if (opts.add) return addMysqlTables(deps, { ...base, tables: parseTableList(opts.add as string) });
    const report = await attachMysql(deps, {
      ...base,
      tables: opts.tables ? parseTableList(opts.tables as string) : undefined,
      schema: opts.schema as string | undefined,
    });
    if (opts.check && !report.ok) process.exitCode = 1;
  });
}

export async function mysqlStatusCommand(opts: { databaseUrl: string; name: string }, io: AttachIO) {
  await withMysqlDeps(opts.databaseUrl, io, async (deps) => {
    const s = await mysqlStatus(deps, opts.name);
    const tasks = s.connector?.tasks.map((t) => t.state).join(",") ?? "";
    io.out(
      `connector ${s.names.connector}: ${s.connector ? `${s.connector.connector.state} (tasks ${tasks})` : "not registered"}`,
    );
    io.out(
      s.position
        ? `binlog: connector at ${s.position}, ${s.lagBytes?.toLocaleString("en-US")} bytes of binlog behind the server`
        : "binlog: no committed position yet",
    );
    for (const p of s.progress)
      io.out(
        `  ${p.table}: ${p.projected.toLocaleString("en-US")} events projected of ${p.produced.toLocaleString("en-US")} on ${p.topic}; ~${p.total.toLocaleString("en-US")} rows in the source`,
      );
  });
}

/** detach for MySQL/MariaDB; returns the tables that were attached. */
export async function mysqlDetachCommand(opts: { databaseUrl: string; name: string }, io: AttachIO) {
  return withMysqlDeps(opts.databaseUrl, io, (deps) => detachMysql(deps, opts.name));
}

export async function mysqlVerifyCommand(
  opts: { databaseUrl: string; name: string; tables?: string; examples: string; wait: string },
  reader: ProjectionReader,
  io: AttachIO,
): Promise<boolean> {
  return withMysqlDeps(opts.databaseUrl, io, async (deps) => {
    const report = await verifyMysqlAttachment(deps, reader, opts.name, {
      tables: opts.tables,
      examples: Number(opts.examples),
      waitMs: Number(opts.wait) * 1000,
      chunkRows: reader.kind === "read-api" ? 5_000 : 10_000,
    });
    io.out(formatVerifyReport(report));
    return report.ok;
  });
}

export async function mysqlRepairCommand(
  opts: { databaseUrl: string; name: string; table: string },
  reader: ProjectionReader,
  io: AttachIO,
): Promise<void> {
  const { repairMysqlTable } = await import("../mysql/repair.js");
  await withMysqlDeps(opts.databaseUrl, io, (deps) =>
    repairMysqlTable(
      { ...deps, kafka: createKafka(deps.config.KAFKA_BROKERS, "cqrs-sidecar-repair"), reader },
      opts.name,
      parseTableRef(opts.table),
    ),
  );
}
