import { randomUUID } from "node:crypto";
import type { Admin } from "kafkajs";
import { type ClickHouse, parseClickHouseUrl } from "../clickhouse/client.js";
import { type ConnectClient, whileConnectAway } from "../connect/connect-client.js";
import type { Config } from "../shared/config.js";
import type { PgPool } from "../shared/postgres.js";
import { attachState, forgetAttachState, lockAttachment, setAttachState } from "./attach-state.js";
import { readCatalog } from "./catalog.js";
import { createProjectedTables, embeddedHeld, openProjectionClickHouse } from "./clickhouse-tables.js";
import { attachConnectorConfig, incrementalSnapshotSignal, notificationTopic, removeConnector } from "./connector.js";
import { deleteAttachmentTopics } from "./deleted-topics.js";
import { diagnose } from "./diagnose.js";
import { AttachError } from "./errors.js";
import { ownSnapshot } from "./own-snapshot.js";
import { fixableByFull, formatReport, type PreflightReport, preflight, tablesOfSchema } from "./preflight.js";
import { formatProgressLine, isSnapshotDone, measureProgress, rowTotals, type TableProgress } from "./progress.js";
import { type ProjectionKey, projectionKey } from "./projection-key.js";
import {
  dropSlotAndPublication,
  ensureHelperTables,
  ensurePublication,
  publicationTables,
  slotLag,
} from "./source-setup.js";
import { attachNames, quoteTable, type TableRef, tableName } from "./tables.js";

export interface AttachIO {
  /** Prints a line for the user. */
  out: (line: string) => void;
  /** Redraws progress in place (a terminal); plain lines otherwise. */
  progress?: (rows: TableProgress[], rates: Map<string, number>) => void;
}

export interface AttachDeps {
  pool: PgPool;
  admin: Admin;
  connect: ConnectClient;
  config: Config;
  io: AttachIO;
  /**
   * The projection's ClickHouse, to create the attached tables from the Postgres catalog.
   * Absent: opened from CLICKHOUSE_URL if possible (a server, or a chDB directory no process holds).
   */
  clickhouse?: ClickHouse;
}

export interface AttachRequest {
  name: string;
  tables?: TableRef[];
  schema?: string;
  /** What to do with tables that have no primary key or usable replica identity. */
  noKey?: "full" | "skip";
  checkOnly?: boolean;
  /** Follow the snapshot until every table is projected (default true). */
  wait?: boolean;
  /** Give up following after this long without progress (ms). */
  stallMs?: number;
}

export { AttachError };

async function selectTables(pool: PgPool, req: AttachRequest): Promise<TableRef[]> {
  if (req.tables?.length) return req.tables;
  if (req.schema) {
    const found: TableRef[] = [];
    for (const schema of req.schema
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      const tables = await tablesOfSchema(pool, schema);
      if (!tables.length) throw new AttachError(`schema ${schema} has no tables (or does not exist)`);
      found.push(...tables);
    }
    return found;
  }
  throw new AttachError("name the tables to attach: --tables schema.a,schema.b or --schema name");
}

/** Runs preflight; with a no-key choice resolves that one problem. Returns the tables to capture. */
export async function checkAndResolve(
  deps: AttachDeps,
  req: AttachRequest,
  refs: TableRef[],
): Promise<{ report: PreflightReport; tables: TableRef[] }> {
  const names = attachNames(req.name);
  const report = await preflight(deps.pool, refs, names);
  deps.io.out(formatReport(report));
  if (req.checkOnly) return { report, tables: refs };
  const blocking = report.checks.filter((c) => !c.ok && c.severity === "error");
  const onlyKeys = blocking.length === 1 && blocking[0]!.id === "replica-identity";
  if (report.ok) return { report, tables: refs };
  if (!onlyKeys || !req.noKey) {
    throw new AttachError(
      onlyKeys
        ? "tables without a key the projection can use: follow the fix above, or choose --keyless full (log whole rows: for tables with a unique index on NOT NULL columns) or --keyless skip (leave them out)"
        : "preflight failed: fix the problems above (nothing was changed), then run attach again",
    );
  }
  const keyless = new Set(report.tablesWithoutKey.map(tableName));
  if (req.noKey === "skip") {
    deps.io.out(`leaving out (no key): ${[...keyless].join(", ")}`);
    return { report, tables: refs.filter((t) => !keyless.has(tableName(t))) };
  }
  // FULL makes Postgres log whole rows; the projection still needs a column set to key them by.
  const hopeless = report.tablesWithoutKey.filter((t) => !fixableByFull(t));
  if (hopeless.length)
    throw new AttachError(
      `--keyless full cannot make ${hopeless.map(tableName).join(", ")} projectable: no primary key and no unique index on NOT NULL columns. Leave them out with --keyless skip, or add a primary key. Nothing was changed.`,
    );
  for (const t of report.tablesWithoutKey) {
    const targets = t.leavesWithoutKey.length ? t.leavesWithoutKey : [quoteTable(t)];
    for (const target of targets) {
      await deps.pool.query(`ALTER TABLE ${target} REPLICA IDENTITY FULL`);
      deps.io.out(`set REPLICA IDENTITY FULL on ${target}`);
    }
  }
  return { report, tables: refs };
}

/**
 * attach: preflight, publication, slot, connector and the sidecar's copy, then follow what is left
 * to Debezium. Nothing is changed before every check (preflight, the sidecar running) passed; a
 * failure after that undoes what this attach created, and an attach killed midway is started over
 * by the next one (sidecar.attachment says `copying`).
 */
export async function attach(deps: AttachDeps, req: AttachRequest): Promise<PreflightReport> {
  const refs = await selectTables(deps.pool, req);
  if (!req.checkOnly) await assertSidecarRunning(deps); // before --keyless full alters a table
  const { report, tables } = await checkAndResolve(deps, req, refs);
  if (req.checkOnly || !tables.length) return report;
  const unlock = await lockAttachment(deps.config.DATABASE_URL, req.name);
  let copied: Awaited<ReturnType<typeof ownSnapshot>>;
  try {
    await ensureHelperTables(deps.pool, req.name);
    if (await resumeIfAttached(deps, req.name, tables)) return report;
    copied = await attachAfresh(deps, req.name, tables);
  } finally {
    await unlock();
  }
  await snapshotByDebezium(deps, tables, copied.unsupported, req);
  return report;
}

/** An attachment whose copy finished resumes streaming; one whose attach was interrupted, or whose slot Postgres invalidated, is taken down (and copied again). */
async function resumeIfAttached(deps: AttachDeps, name: string, tables: TableRef[]): Promise<boolean> {
  const names = attachNames(name);
  const slot = await slotLag(deps.pool, names.slot);
  if (!slot.exists) return false;
  const lost = slot.walStatus === "lost";
  if (!lost && (await attachState(deps.pool, name)) !== "copying") {
    // Attached before: the slot holds the stream's position; nothing is copied again.
    await ensurePublication(deps.pool, name, tables);
    deps.io.out(`slot ${names.slot} exists: the attachment resumes streaming (detach first to snapshot again)`);
    await registerConnector(deps, name, tables);
    return true;
  }
  deps.io.out(
    lost
      ? `slot ${names.slot} was invalidated by Postgres (wal_status lost): changes are gone, copying the tables again`
      : `an earlier attach of ${name} stopped before its copy finished: starting it over`,
  );
  await removeConnector(deps.connect, names.connector);
  await dropSlotAndPublication(deps.pool, names.slot, names.publication);
  return false;
}

async function attachAfresh(deps: AttachDeps, name: string, tables: TableRef[]) {
  const names = attachNames(name);
  await setAttachState(deps.pool, name, "copying");
  try {
    const pub = await ensurePublication(deps.pool, name, tables);
    deps.io.out(`publication ${names.publication} ${pub} for ${tables.length} table(s)`);
    await createTables(deps, tables);
    const totals = await rowTotals(deps.pool, tables);
    const copied = await ownSnapshot(deps, name, tables, totals, {
      write: () => registerConnector(deps, name, tables, { wait: false }),
      running: () => waitConnectorRunning(deps, name),
    });
    await setAttachState(deps.pool, name, "copied");
    return copied;
  } catch (err) {
    await undoAttach(deps, name);
    throw err;
  }
}

/** After a failed attach: the connector, slot, publication and state row go, so no WAL is held. */
async function undoAttach(deps: AttachDeps, name: string) {
  const names = attachNames(name);
  try {
    await removeConnector(deps.connect, names.connector);
    await dropSlotAndPublication(deps.pool, names.slot, names.publication);
    await forgetAttachState(deps.pool, name);
    deps.io.out(
      `attach failed; undone: connector ${names.connector}, slot and publication ${names.slot} removed (no WAL is held)`,
    );
  } catch (err) {
    deps.io.out(
      `attach failed, and undoing it failed too (${(err as Error).message}): run detach --name ${name} to remove what is left`,
    );
  }
}

/**
 * The copy runs where the projection's ClickHouse is. An embedded one that no process holds means
 * the sidecar is not running: nothing would copy or project, so say what to start, before any change.
 */
export async function assertSidecarRunning(deps: Pick<AttachDeps, "clickhouse" | "config">) {
  if (deps.clickhouse) return;
  const target = parseClickHouseUrl(deps.config.CLICKHOUSE_URL);
  if (target.kind === "chdb" && embeddedHeld(target.location) === false) {
    throw new AttachError(
      `the sidecar is not running (nothing holds its embedded ClickHouse in ${target.location}): start it with \`make up\` (or \`npx cqrs-sidecar run\`), then run attach again. Nothing was changed.`,
    );
  }
}

/** Tables the copy cannot render exactly: Debezium's incremental snapshot reads them instead. */
export async function snapshotByDebezium(
  deps: AttachDeps,
  tables: TableRef[],
  unsupported: Record<string, string[]>,
  req: AttachRequest,
) {
  const left = tables.filter((t) => unsupported[tableName(t)]);
  if (!left.length) return;
  for (const t of left)
    deps.io.out(
      `${tableName(t)}: snapshotted by Debezium (columns ${unsupported[tableName(t)]!.join(", ")} are not copied directly)`,
    );
  await requestIncrementalSnapshot(deps.pool, attachNames(req.name).signal, left);
  if (req.wait !== false) await followSnapshot(deps, await rowTotals(deps.pool, left), req.stallMs);
}

/** Writes an incremental-snapshot signal into a connector's signal table; returns its id. */
export async function requestIncrementalSnapshot(
  pool: PgPool,
  signalTable: TableRef,
  tables: TableRef[],
  id: string = randomUUID(),
) {
  const signal = incrementalSnapshotSignal(tables);
  await pool.query(`INSERT INTO ${quoteTable(signalTable)} (id, type, data) VALUES ($1, $2, $3)`, [
    id,
    signal.type,
    signal.data,
  ]);
  return id;
}

/** ClickHouse tables from the Postgres catalog, before any event (see createProjectedTables). */
export async function createTables(deps: AttachDeps, tables: TableRef[]) {
  const ch = deps.clickhouse ?? (await openProjectionClickHouse(deps.config));
  if (!ch) return; // the running sidecar holds it: its copy creates each table
  try {
    const { created, keyless } = await createProjectedTables(deps.pool, ch, deps.config, tables);
    deps.io.out(`ClickHouse tables from the Postgres catalog: ${created.join(", ") || "(none)"}`);
    if (keyless.length) {
      deps.io.out(
        `not projected (no primary key; their changes are captured on Kafka and dead-lettered by the projector): ${keyless.join(", ")}`,
      );
    }
  } finally {
    if (!deps.clickhouse) await ch.close();
  }
}

/** Tables keyed by an index rather than a primary key (Debezium's message.key.columns). */
async function indexKeys(pool: PgPool, tables: TableRef[]) {
  const out: { table: string; key: ProjectionKey }[] = [];
  for (const t of tables) {
    const { key } = await projectionKey(pool, t);
    if (key && key.source !== "primary key") out.push({ table: tableName(t), key });
  }
  return out;
}

/** schema.table.column of every generated column of these tables (left out of the change events). */
async function generatedColumns(pool: PgPool, tables: TableRef[]): Promise<string[]> {
  const out: string[] = [];
  for (const t of tables)
    for (const c of (await readCatalog(pool, t)).generatedColumns) out.push(`${tableName(t)}.${c.name}`);
  return out;
}

/** Writes the connector's config; waits for RUNNING unless the caller waits itself (attach, attach --add). */
export async function registerConnector(deps: AttachDeps, name: string, tables: TableRef[], opts = { wait: true }) {
  const names = attachNames(name);
  const config = await attachConnectorConfig({
    databaseUrl: deps.config.CONNECT_DATABASE_URL ?? deps.config.DATABASE_URL,
    topicPrefix: deps.config.TOPIC_PREFIX,
    name,
    connector: names.connector,
    slot: names.slot,
    publication: names.publication,
    tables,
    excludeColumns: await generatedColumns(deps.pool, tables),
    indexKeys: await indexKeys(deps.pool, tables),
  });
  // Idempotent, so sent again while Connect restarts (an attach's copy may be waiting on it).
  await whileConnectAway(() => deps.connect.putConfig(names.connector, config));
  if (opts.wait) await waitConnectorRunning(deps, name);
}

async function waitConnectorRunning(deps: AttachDeps, name: string) {
  const names = attachNames(name);
  await deps.connect.waitRunning(names.connector, 120_000);
  deps.io.out(
    `connector ${names.connector} RUNNING (slot ${names.slot}, topics ${deps.config.TOPIC_PREFIX}.<schema>.<table>)`,
  );
}

/**
 * Follows an attachment's snapshots that go through Kafka (Debezium's incremental snapshots: tables
 * the copy left to it, attach --add, repair), e.g. after attach --no-wait. Tables the attach copied
 * itself are in ClickHouse already and are not followed.
 */
export async function followAttachment(deps: AttachDeps, name: string, stallMs?: number): Promise<void> {
  const tables = await publicationTables(deps.pool, attachNames(name).publication);
  const signalled = await signalledTables(deps.pool, name);
  const followed = tables.filter((t) => signalled.has(tableName(t)));
  if (followed.length === 0) {
    deps.io.out(`snapshot done: every table of ${name} was copied by attach; streaming changes now`);
    return;
  }
  await followSnapshot(deps, await rowTotals(deps.pool, followed), stallMs);
}

/** Tables named by an incremental-snapshot signal in the signal table. */
async function signalledTables(pool: PgPool, name: string): Promise<Set<string>> {
  const { rows } = await pool.query<{ data: string | null }>(
    `SELECT data FROM ${quoteTable(attachNames(name).signal)} WHERE type = 'execute-snapshot'`,
  ); // (an attachment from before per-attachment signal tables has none yet: that is an error, as before)
  const out = new Set<string>();
  for (const r of rows) {
    try {
      const collections = (JSON.parse(r.data ?? "{}") as { "data-collections"?: unknown })["data-collections"];
      if (Array.isArray(collections)) for (const c of collections) if (typeof c === "string") out.add(c);
    } catch {
      // not one of ours
    }
  }
  return out;
}

export async function followSnapshot(
  deps: Pick<AttachDeps, "admin" | "config" | "io">,
  totals: Map<string, number>,
  stallMs = 180_000,
) {
  const started = Date.now();
  let last = new Map<string, { at: number; projected: number }>();
  let lastChange = Date.now();
  let lastPrint = 0;
  for (;;) {
    const rows = await measureProgress(deps.admin, deps.config.PROJECTOR_GROUP, deps.config.TOPIC_PREFIX, totals);
    const now = Date.now();
    const rates = new Map<string, number>();
    for (const r of rows) {
      const prev = last.get(r.table);
      rates.set(r.table, prev && now > prev.at ? ((r.projected - prev.projected) * 1000) / (now - prev.at) : 0);
      if (!prev || prev.projected !== r.projected) lastChange = now;
    }
    last = new Map(rows.map((r) => [r.table, { at: now, projected: r.projected }]));
    if (deps.io.progress) deps.io.progress(rows, rates);
    else if (now - lastPrint >= 5_000 || isSnapshotDone(rows)) {
      for (const r of rows) deps.io.out(formatProgressLine(r, rates.get(r.table) ?? 0));
      lastPrint = now;
    }
    if (isSnapshotDone(rows)) {
      const total = rows.reduce((s, r) => s + r.total, 0);
      deps.io.out(
        `snapshot done: ${total.toLocaleString("en-US")} rows in ${((now - started) / 1000).toFixed(1)} s; streaming changes now`,
      );
      return;
    }
    if (now - lastChange > stallMs) {
      throw new AttachError(
        `no snapshot progress for ${Math.round(stallMs / 1000)} s. Is the projector running (make status)? Its logs: make logs`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * detach: connector (and its stored offsets), slot and publication, and the attachment's table
 * topics (with `kafka`): the projector stops consuming them at its next topic refresh, so nothing
 * of the attachment is retried after detach. ClickHouse data is left to the caller.
 */
export async function detach(
  deps: Pick<AttachDeps, "pool" | "connect" | "io"> & {
    kafka?: { admin: Admin; brokers: string[]; topicPrefix: string; group: string };
  },
  name: string,
): Promise<void> {
  const names = attachNames(name);
  const tables = await publicationTables(deps.pool, names.publication).catch(() => []);
  const removed = await removeConnector(deps.connect, names.connector);
  deps.io.out(
    removed ? `connector ${names.connector} removed (offsets deleted)` : `connector ${names.connector} was not there`,
  );
  await dropSlotAndPublication(deps.pool, names.slot, names.publication);
  await deps.pool.query("DELETE FROM sidecar.heartbeat WHERE slot_name = $1", [names.slot]).catch(() => undefined);
  await forgetAttachState(deps.pool, name);
  await deps.pool.query(`DROP TABLE IF EXISTS ${quoteTable(names.signal)}`).catch(() => undefined);
  const left = await slotLag(deps.pool, names.slot);
  if (left.exists)
    throw new AttachError(
      `replication slot ${names.slot} is still there; drop it with: SELECT pg_drop_replication_slot('${names.slot}');`,
    );
  deps.io.out(`replication slot ${names.slot} and publication ${names.publication} dropped`);
  if (!deps.kafka) return;
  // The attachment's table topics and its notification topic (the shared heartbeat/signal topics stay).
  const prefix = deps.kafka.topicPrefix;
  const topics = [...tables.map((t) => `${prefix}.${tableName(t)}`), notificationTopic(prefix, names.slot)];
  await deleteAttachmentTopics(deps.kafka, topics, deps.io);
}

export async function attachmentStatus(deps: Pick<AttachDeps, "pool" | "connect" | "admin" | "config">, name: string) {
  const names = attachNames(name);
  const [connector, slot, tables] = await Promise.all([
    deps.connect.status(names.connector),
    slotLag(deps.pool, names.slot),
    publicationTables(deps.pool, names.publication),
  ]);
  const totals = await rowTotals(deps.pool, tables);
  const progress = await measureProgress(deps.admin, deps.config.PROJECTOR_GROUP, deps.config.TOPIC_PREFIX, totals);
  // What keeps it from streaming (diagnose.ts), judged with the connector's own user.
  const user = (await deps.connect.getConfig(names.connector))?.["database.user"];
  const problems = await diagnose(deps.pool, name, connector, user, slot);
  return { names, connector, slot, tables, progress, problems };
}
