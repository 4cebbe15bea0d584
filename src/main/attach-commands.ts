import { createInterface } from "node:readline/promises";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { addTables } from "../attach/add-tables.js";
import { type AttachIO, attach, attachmentStatus, detach } from "../attach/attach.js";
import type { TableProgress } from "../attach/progress.js";
import { parseTableList, parseTableRef, type TableRef } from "../attach/tables.js";
import type { ProjectionReader } from "../attach/verify.js";
import { ConnectClient } from "../connect/connect-client.js";
import { isMysqlUrl } from "../mysql/source.js";
import { type Config, loadConfig } from "../shared/config.js";
import { createKafka } from "../shared/kafka.js";
import { createPgPool } from "../shared/postgres.js";
import {
  mysqlAttachCommand,
  mysqlDetachCommand,
  mysqlRepairCommand,
  mysqlStatusCommand,
  mysqlVerifyCommand,
} from "./mysql-commands.js";

/** Progress bars on a terminal (cli-progress), plain lines otherwise (logs, CI). */
function terminalIO(): AttachIO {
  const out = (line: string) => console.log(line);
  if (!process.stdout.isTTY) return { out };
  let bars: cliProgress.MultiBar | undefined;
  const byTable = new Map<string, cliProgress.SingleBar>();
  return {
    out: (line) => (bars ? bars.log(`${line}\n`) : out(line)),
    progress: (rows: TableProgress[], rates: Map<string, number>) => {
      bars ??= new cliProgress.MultiBar(
        {
          format: " {bar} {percentage}% | {table} | {value}/{total} rows | {rate} rows/s | ETA {eta}s",
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      for (const r of rows) {
        const payload = { table: r.table, rate: Math.round(rates.get(r.table) ?? 0) };
        const bar = byTable.get(r.table) ?? bars.create(Math.max(r.total, 1), 0, payload);
        byTable.set(r.table, bar);
        bar.setTotal(Math.max(r.total, r.projected, 1));
        bar.update(r.projected, payload);
      }
      if (rows.every((r) => r.projected >= r.total)) {
        bars.stop();
        bars = undefined;
      }
    },
  };
}

async function withDeps<T>(config: Config, fn: (deps: Parameters<typeof attach>[0]) => Promise<T>): Promise<T> {
  const pool = createPgPool(config.DATABASE_URL, { max: 2, applicationName: "cqrs-sidecar-attach" });
  const admin = createKafka(config.KAFKA_BROKERS, "cqrs-sidecar-attach").admin();
  try {
    await pool.query("SELECT 1").catch((err: Error) => {
      throw new Error(`cannot connect to ${redact(config.DATABASE_URL)}: ${err.message}`);
    });
    await admin.connect();
    return await fn({ pool, admin, connect: new ConnectClient(config.KAFKA_CONNECT_URL), config, io: terminalIO() });
  } finally {
    await admin.disconnect().catch(() => undefined);
    await pool.end();
  }
}

const redact = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");

/**
 * How an admin command reads the projection: ClickHouse itself when this process can open it (a
 * server, or an embedded directory no process holds), else the running sidecar's read API.
 */
async function projectionReader(config: Config, via: string) {
  if (!["auto", "clickhouse", "read-api"].includes(via))
    throw new Error(`--via takes auto, clickhouse or read-api, not "${via}"`);
  const { openProjectionClickHouse } = await import("../attach/clickhouse-tables.js");
  const ch = via === "read-api" ? undefined : await openProjectionClickHouse(config);
  if (via === "clickhouse" && !ch)
    throw new Error("cannot open the embedded ClickHouse (the running sidecar holds it): use --via read-api");
  const reader: ProjectionReader = ch
    ? { kind: "clickhouse", client: ch, database: config.CLICKHOUSE_DATABASE }
    : { kind: "read-api", url: config.READ_API_URL, token: config.READ_API_TOKEN || undefined };
  return { reader, ch };
}

/** --database-url overrides DATABASE_URL for this command (and Connect's view of it, unless set). */
function configFor(opts: { databaseUrl?: string }): Config {
  const env = { ...process.env };
  if (opts.databaseUrl) {
    env.DATABASE_URL = opts.databaseUrl;
    env.CONNECT_DATABASE_URL ??= opts.databaseUrl;
  }
  return loadConfig(env);
}

export function registerAttachCommands(program: Command) {
  program
    .command("attach")
    .description(
      "capture tables of an existing Postgres, MySQL or MariaDB database: preflight, connector, snapshot with progress",
    )
    .option(
      "--database-url <url>",
      "the database to attach: postgres://, mysql:// or mariadb:// (default DATABASE_URL)",
    )
    .option("--tables <list>", "schema.table,schema.table")
    .option("--schema <names>", "every table of these schemas (comma separated)")
    .option(
      "--name <name>",
      "name of this attachment (connector attach_<name>, slot and publication sidecar_attach_<name>)",
      "legacy",
    )
    .option(
      "--keyless <choice>",
      "tables without primary key or replica identity: full (REPLICA IDENTITY FULL) or skip",
    )
    .option("--add <list>", "add these tables to an existing attachment (copied while the others stream)")
    .option("--check", "run the preflight only; change nothing")
    .option("--no-wait", "do not follow the snapshot")
    .action(async (opts) => {
      if (opts.keyless !== undefined && !["full", "skip"].includes(opts.keyless)) {
        throw new Error(`--keyless takes full or skip, not "${opts.keyless}"`);
      }
      if (opts.tables && opts.schema) throw new Error("give --tables or --schema, not both");
      if (isMysqlUrl(opts.databaseUrl ?? "")) return mysqlAttachCommand(opts, terminalIO());
      const config = configFor(opts);
      await withDeps(config, async (deps) => {
        const base = { name: opts.name, noKey: opts.keyless, checkOnly: opts.check, wait: opts.wait };
        if (opts.add) {
          await addTables(deps, { ...base, tables: parseTableList(opts.add) });
          return;
        }
        const report = await attach(deps, {
          ...base,
          tables: opts.tables ? parseTableList(opts.tables) : undefined,
          schema: opts.schema,
        });
        if (opts.check && !report.ok) process.exitCode = 1;
      });
    });

  program
    .command("detach")
    .description("remove an attachment's connector, replication slot and publication")
    .option("--database-url <url>", "the attached database (default DATABASE_URL)")
    .option("--name <name>", "attachment name", "legacy")
    .option("--drop-data", "also drop the attachment's ClickHouse tables (asks first on a terminal)")
    .option("--yes", "do not ask")
    .action(async (opts) => {
      if (isMysqlUrl(opts.databaseUrl ?? "")) {
        const tables = await mysqlDetachCommand(opts, terminalIO());
        await dropAfterDetach(loadConfig(process.env), tables, opts);
        return;
      }
      const config = configFor(opts);
      await withDeps(config, async (deps) => {
        const { tables } = await attachmentStatus(deps, opts.name);
        await detach(
          {
            ...deps,
            kafka: {
              admin: deps.admin,
              brokers: config.KAFKA_BROKERS,
              topicPrefix: config.TOPIC_PREFIX,
              group: config.PROJECTOR_GROUP,
            },
          },
          opts.name,
        );
        await dropAfterDetach(config, tables, opts);
      });
    });

  program
    .command("verify")
    .description(
      "compare every attached table in Postgres and ClickHouse (row counts, checksums, differing keys); exit 1 when they differ",
    )
    .option("--database-url <url>", "the attached database (default DATABASE_URL)")
    .option("--name <name>", "attachment name", "legacy")
    .option("--tables <list>", "only these attached tables (schema.table,…)")
    .option("--via <source>", "how to read ClickHouse: auto | clickhouse | read-api (READ_API_URL)", "auto")
    .option("--examples <n>", "differences shown per table", "10")
    .option("--wait <seconds>", "wait at most this long for the projection to reach the source's current LSN", "60")
    .action(async (opts) => {
      if (isMysqlUrl(opts.databaseUrl ?? "")) {
        const { reader, ch } = await projectionReader(loadConfig(process.env), opts.via);
        try {
          if (!(await mysqlVerifyCommand(opts, reader, terminalIO()))) process.exitCode = 1;
        } finally {
          await ch?.close();
        }
        return;
      }
      const config = configFor(opts);
      const { verifyAttachment, formatVerifyReport } = await import("../attach/verify.js");
      const { reader, ch } = await projectionReader(config, opts.via);
      const pool = createPgPool(config.DATABASE_URL, { max: 2, applicationName: "cqrs-sidecar-verify" });
      try {
        console.log(
          `reading ClickHouse ${reader.kind === "clickhouse" ? "directly" : `through the read API at ${config.READ_API_URL}`}`,
        );
        const report = await verifyAttachment(pool, reader, opts.name, {
          tables: opts.tables ? parseTableList(opts.tables) : undefined,
          examples: Number(opts.examples),
          waitMs: Number(opts.wait) * 1000,
          chunkRows: reader.kind === "read-api" ? 5_000 : 10_000,
        });
        console.log(formatVerifyReport(report));
        if (!report.ok) process.exitCode = 1;
      } finally {
        await pool.end();
        await ch?.close();
      }
    });

  program
    .command("repair")
    .description(
      "bring one attached table back to the source and clear its degraded mark (verify, re-read it in place when it differs, verify again); without --table, the attachment itself",
    )
    .option("--database-url <url>", "the attached database (default DATABASE_URL)")
    .option("--name <name>", "attachment name", "legacy")
    .option(
      "--table <schema.table>",
      "the table to repair; without it the attachment itself (a lost slot is re-created and its tables copied again, a failed task restarted)",
    )
    .option("--via <source>", "how to read ClickHouse for verify: auto | clickhouse | read-api (READ_API_URL)", "auto")
    .action(async (opts) => {
      if (isMysqlUrl(opts.databaseUrl ?? "")) {
        if (!opts.table) throw new Error("repair of a MySQL/MariaDB attachment needs --table <schema.table>");
        const { reader, ch } = await projectionReader(loadConfig(process.env), opts.via);
        try {
          return await mysqlRepairCommand(opts, reader, terminalIO());
        } finally {
          await ch?.close();
        }
      }
      const config = configFor(opts);
      if (!opts.table) {
        const { repairAttachment } = await import("../attach/repair-attachment.js");
        return withDeps(config, (deps) => repairAttachment(deps, opts.name));
      }
      const { repairTable } = await import("../attach/repair.js");
      const { reader, ch } = await projectionReader(config, opts.via);
      const kafka = createKafka(config.KAFKA_BROKERS, "cqrs-sidecar-repair");
      const admin = kafka.admin();
      const pool = createPgPool(config.DATABASE_URL, { max: 2, applicationName: "cqrs-sidecar-repair" });
      try {
        await admin.connect();
        await repairTable(
          { pool, kafka, admin, config, reader, out: (l) => console.log(l) },
          opts.name,
          parseTableRef(opts.table),
        );
      } finally {
        await admin.disconnect().catch(() => undefined);
        await pool.end();
        await ch?.close();
      }
    });

  program
    .command("status")
    .description("an attachment's connector, slot lag (bytes of WAL held on the source) and per-table progress")
    .option("--database-url <url>", "the attached database (default DATABASE_URL)")
    .option("--name <name>", "attachment name", "legacy")
    .action(async (opts) => {
      if (isMysqlUrl(opts.databaseUrl ?? "")) return mysqlStatusCommand(opts, terminalIO());
      const config = configFor(opts);
      await withDeps(config, async (deps) => {
        const s = await attachmentStatus(deps, opts.name);
        const tasks = s.connector?.tasks.map((t) => t.state).join(",") ?? "";
        console.log(
          `connector ${s.names.connector}: ${s.connector ? `${s.connector.connector.state} (tasks ${tasks})` : "not registered"}`,
        );
        console.log(
          s.slot.exists
            ? `slot ${s.names.slot}: ${s.slot.active ? "active" : "INACTIVE"}, lag ${s.slot.lagBytes.toLocaleString("en-US")} bytes of WAL held`
            : `slot ${s.names.slot}: none`,
        );
        for (const p of s.progress)
          console.log(
            `  ${p.table}: ${p.projected.toLocaleString("en-US")} events projected of ${p.produced.toLocaleString("en-US")} on ${p.topic}; ~${p.total.toLocaleString("en-US")} rows in Postgres`,
          );
        for (const p of s.problems) {
          console.log(`PROBLEM: ${p.what}\n  fix: ${p.fix}`);
          process.exitCode = 1;
        }
      });
    });
}

/** After detach: keep the ClickHouse tables, or with --drop-data drop them (asking first on a terminal). */
async function dropAfterDetach(config: Config, tables: TableRef[], opts: { dropData?: boolean; yes?: boolean }) {
  if (!opts.dropData) {
    if (tables.length)
      console.log(`ClickHouse data kept (${tables.length} table(s)); drop it with: detach --drop-data`);
    return;
  }
  if (!opts.yes && process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(`Drop the ClickHouse tables of ${tables.length} table(s)? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      console.log("ClickHouse data kept");
      return;
    }
  }
  const { dropProjectedTables } = await import("../attach/drop-data.js");
  const dropped = await dropProjectedTables(config, tables);
  console.log(`dropped ClickHouse tables: ${dropped.join(", ") || "(none)"}`);
}
