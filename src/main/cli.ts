#!/usr/bin/env node
import { Command } from "commander";
import { applyConnectors } from "../connect/apply.js";
import { ConfigError, loadConfig } from "../shared/config.js";
import { pingKafka } from "../shared/kafka.js";
import { createLogger } from "../shared/logger.js";
import { createPgPool } from "../shared/postgres.js";
import { migrate } from "../write/migrate.js";
import { registerAttachCommands } from "./attach-commands.js";
import { parseRoles, runRoles } from "./run.js";

/** One entry point for every role and admin command. */
const program = new Command("cqrs-sidecar").description("CDC-driven CQRS sidecar for Postgres").showHelpAfterError();

program
  .command("run")
  .description("run roles in this process: write, project, read (default: all three)")
  .argument("[roles...]", "write | project | read")
  .action(async (args: string[]) => {
    const roles = parseRoles(args);
    const config = loadConfig();
    const log = createLogger(config.LOG_LEVEL);
    const stop = await runRoles(config, roles, log);
    log.info({ roles }, "running");
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "shutting down");
      await stop();
      process.exit(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
  });

program
  .command("up")
  .description("what the Docker image runs: migrate, apply connectors, then run every role")
  .action(async () => {
    const config = loadConfig();
    const log = createLogger(config.LOG_LEVEL);
    const pool = createPgPool(config.DATABASE_URL, { max: 1 });
    try {
      await migrate(pool);
      await applyConnectors(config, pool, log);
    } finally {
      await pool.end();
    }
    await program.parseAsync(["node", "cli", "run"]);
  });

program
  .command("migrate")
  .description("apply the demo domain's SQL migrations (src/write/migrations)")
  .action(async () => {
    const config = loadConfig();
    const pool = createPgPool(config.DATABASE_URL, { max: 1 });
    try {
      const { applied, skipped } = await migrate(pool);
      console.log(
        `migrations: ${applied.length} applied${applied.length ? ` (${applied.join(", ")})` : ""}, ${skipped.length} already there`,
      );
    } finally {
      await pool.end();
    }
  });

program
  .command("connectors")
  .description("apply connectors/*.json to Kafka Connect (idempotent PUT) and wait until RUNNING")
  .option("--no-wait", "do not wait for RUNNING")
  .action(async (opts: { wait: boolean }) => {
    const config = loadConfig();
    const log = createLogger(config.LOG_LEVEL);
    const pool = createPgPool(config.DATABASE_URL, { max: 1 });
    try {
      const names = await applyConnectors(config, pool, log, { wait: opts.wait });
      console.log(`connectors applied${opts.wait ? " and RUNNING" : ""}: ${names.join(", ")}`);
    } finally {
      await pool.end();
    }
  });

program
  .command("kafka-ping")
  .description("check that the Kafka broker accepts a produce")
  .action(async () => {
    const config = loadConfig();
    await pingKafka(config.KAFKA_BROKERS);
    console.log(`kafka accepts produces at ${config.KAFKA_BROKERS.join(",")}`);
  });

registerAttachCommands(program);

program.parseAsync().catch((err: unknown) => {
  // Expected failures get one clear line, not a stack trace.
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
