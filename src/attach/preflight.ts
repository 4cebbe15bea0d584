import type { PgPool } from "../shared/postgres.js";
import { type ProjectionKey, projectionKey } from "./projection-key.js";
import { quoteIdent, quoteTable, type TableRef, tableName } from "./tables.js";
import { typeChecks } from "./type-report.js";

/**
 * Preflight: everything Debezium needs from a database it did not create, checked
 * read-only, each problem with the exact fix. It never changes the database.
 */
export interface Check {
  id: string;
  ok: boolean;
  /** error: attach cannot go on; warn: it can, with a caveat. */
  severity: "error" | "warn";
  message: string;
  fix?: string;
}

export interface TableInfo extends TableRef {
  exists: boolean;
  kind: "table" | "partitioned" | "other";
  primaryKey: string[];
  replicaIdentity: "default" | "full" | "index" | "nothing";
  canSelect: boolean;
  owned: boolean;
  estimatedRows: number;
  /** Leaf partitions without a usable replica identity (partitioned tables only). */
  leavesWithoutKey: string[];
  /** The key the projection would use (projection-key.ts); absent: it cannot be projected. */
  key?: ProjectionKey;
  /** Without a key: a unique index on NOT NULL columns that would key it once Postgres logs it. */
  keyCandidate?: string;
}

/**
 * Tables whose topic the projector could not tell from others: Debezium names it
 * `<prefix>.<schema>.<table>`, and a dot inside a name adds a part, so the projector (which takes
 * exactly those three parts, src/projector/topics.ts) would copy the table once and then never
 * read its changes. Refused up front rather than left to drift.
 */
export function dottedNameCheck(refs: TableRef[]): Check | undefined {
  const dotted = refs.filter((r) => r.schema.includes(".") || r.table.includes("."));
  if (dotted.length === 0) return undefined;
  return {
    id: "table-names",
    ok: false,
    severity: "error",
    message: `a dot in the name of ${dotted.map((r) => JSON.stringify(tableName(r))).join(", ")}: its change topic would have more than <prefix>.<schema>.<table> parts, and the projector would never read it`,
    fix: "Rename the table (or schema) without the dot, or leave it out (list the others with --tables).",
  };
}

export interface PreflightReport {
  checks: Check[];
  tables: TableInfo[];
  /** Tables with no primary key and no usable replica identity. */
  tablesWithoutKey: TableInfo[];
  ok: boolean;
  serverVersion: number;
  user: string;
}

export const MIN_SERVER_VERSION = 120000; // Debezium 3.x supports PostgreSQL 12 and later

const REPLIDENT = { d: "default", f: "full", i: "index", n: "nothing" } as const;

/**
 * A table whose every change carries a key the projection can use: the primary key (identity
 * default, index or full), or an index (projection-key.ts). REPLICA IDENTITY FULL alone is not
 * enough: whole rows are logged, but the projection has no column to match them by.
 */
export function hasUsableKey(t: Pick<TableInfo, "primaryKey" | "replicaIdentity" | "key">): boolean {
  if (t.key && t.key.source !== "primary key") return true;
  return t.replicaIdentity !== "nothing" && t.primaryKey.length > 0;
}

/** A table before anything is known of it: not there, no key, not readable (the checks fill it in). */
export function unknownTable(ref: TableRef, kind: TableInfo["kind"]): TableInfo {
  return {
    ...ref,
    exists: false,
    kind,
    primaryKey: [],
    replicaIdentity: "default",
    canSelect: false,
    owned: false,
    estimatedRows: 0,
    leavesWithoutKey: [],
  };
}

export async function describeTables(pool: PgPool, refs: TableRef[]): Promise<TableInfo[]> {
  const out: TableInfo[] = [];
  for (const ref of refs) {
    const { rows } = await pool.query(
      `SELECT c.oid, c.relkind, c.relreplident, has_table_privilege(c.oid, 'SELECT') AS can_select,
              pg_has_role(c.relowner, 'USAGE') AS owned, greatest(c.reltuples, 0)::bigint AS est,
              coalesce((SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
                 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                 WHERE i.indrelid = c.oid AND i.indisprimary), '{}'::text[]) AS pk
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [ref.schema, ref.table],
    );
    const r = rows[0];
    if (!r) {
      out.push(unknownTable(ref, "other"));
      continue;
    }
    const kind = r.relkind === "r" ? "table" : r.relkind === "p" ? "partitioned" : "other";
    let estimatedRows = Number(r.est);
    const leavesWithoutKey: string[] = [];
    if (kind === "partitioned") {
      const leaves = await pool.query(
        `SELECT p.relid::regclass::text AS name, c.relreplident, greatest(c.reltuples, 0)::bigint AS est,
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = p.relid AND (i.indisprimary OR i.indisreplident)) AS keyed
           FROM pg_partition_tree($1::oid) p JOIN pg_class c ON c.oid = p.relid WHERE p.isleaf`,
        [r.oid],
      );
      estimatedRows = leaves.rows.reduce((s, l) => s + Number(l.est), 0);
      for (const l of leaves.rows) if (!l.keyed && l.relreplident !== "f") leavesWithoutKey.push(l.name);
    }
    const { key, candidate } = await projectionKey(pool, ref);
    out.push({
      ...ref,
      exists: true,
      kind,
      key,
      keyCandidate: candidate,
      primaryKey: r.pk,
      replicaIdentity: REPLIDENT[r.relreplident as keyof typeof REPLIDENT],
      canSelect: r.can_select,
      owned: r.owned,
      estimatedRows,
      leavesWithoutKey,
    });
  }
  return out;
}

/** Every table of a schema (plain and partitioned; partitions are reached through their parent). */
export async function tablesOfSchema(pool: PgPool, schema: string): Promise<TableRef[]> {
  const { rows } = await pool.query<{ table: string }>(
    `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => ({ schema, table: r.table }));
}

export async function preflight(
  pool: PgPool,
  refs: TableRef[],
  names: { slot: string; publication: string },
): Promise<PreflightReport> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const setting = async (name: string) =>
    (await pool.query(`SELECT current_setting($1) AS v`, [name])).rows[0].v as string;

  const version = Number(await setting("server_version_num"));
  add({
    id: "server-version",
    ok: version >= MIN_SERVER_VERSION,
    severity: "error",
    message: `PostgreSQL ${await setting("server_version")} (Debezium 3 needs 12 or later)`,
    fix: version >= MIN_SERVER_VERSION ? undefined : "Upgrade the server to PostgreSQL 12 or later.",
  });

  const walLevel = await setting("wal_level");
  add({
    id: "wal-level",
    ok: walLevel === "logical",
    severity: "error",
    message: `wal_level is ${walLevel}${walLevel === "logical" ? "" : " (logical decoding needs logical)"}`,
    fix: walLevel === "logical" ? undefined : "ALTER SYSTEM SET wal_level = logical;  -- then restart PostgreSQL",
  });

  const { rows: slotRows } = await pool.query(
    "SELECT count(*)::int AS used, count(*) FILTER (WHERE slot_name = $1)::int AS ours FROM pg_replication_slots",
    [names.slot],
  );
  const maxSlots = Number(await setting("max_replication_slots"));
  const slotsNeeded = slotRows[0].ours > 0 ? 0 : 1;
  add({
    id: "replication-slots",
    ok: maxSlots - slotRows[0].used >= slotsNeeded,
    severity: "error",
    message: `replication slots: ${slotRows[0].used} of max_replication_slots=${maxSlots} in use${slotRows[0].ours ? ` (slot ${names.slot} exists and is reused)` : ""}`,
    fix:
      maxSlots - slotRows[0].used >= slotsNeeded
        ? undefined
        : `ALTER SYSTEM SET max_replication_slots = ${slotRows[0].used + 4};  -- then restart PostgreSQL`,
  });

  const { rows: senderRows } = await pool.query("SELECT count(*)::int AS used FROM pg_stat_replication");
  const maxSenders = Number(await setting("max_wal_senders"));
  add({
    id: "wal-senders",
    ok: maxSenders - senderRows[0].used >= 1,
    severity: "error",
    message: `WAL senders: ${senderRows[0].used} of max_wal_senders=${maxSenders} in use`,
    fix:
      maxSenders - senderRows[0].used >= 1
        ? undefined
        : `ALTER SYSTEM SET max_wal_senders = ${senderRows[0].used + 4};  -- then restart PostgreSQL`,
  });

  const { rows: roleRows } = await pool.query(
    `SELECT current_user AS name, r.rolsuper AS super, r.rolreplication AS repl,
            coalesce((SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = 'rds_replication'), false) AS rds,
            has_database_privilege(current_database(), 'CREATE') AS can_create
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const role = roleRows[0];
  const canReplicate = role.super || role.repl || role.rds;
  add({
    id: "replication-privilege",
    ok: canReplicate,
    severity: "error",
    message: `user ${role.name} ${canReplicate ? "may" : "may not"} open a replication connection`,
    fix: canReplicate ? undefined : `ALTER ROLE ${quoteIdent(role.name)} WITH REPLICATION;`,
  });

  const dotted = dottedNameCheck(refs);
  if (dotted) add(dotted);
  const tables = await describeTables(pool, refs);
  for (const t of tables.filter((t) => !t.exists)) {
    add({
      id: `table:${tableName(t)}`,
      ok: false,
      severity: "error",
      message: `table ${tableName(t)} does not exist`,
      fix: "Check the name (schema.table), or leave it out.",
    });
  }
  for (const t of tables.filter((t) => t.exists && t.kind === "other")) {
    add({
      id: `table:${tableName(t)}`,
      ok: false,
      severity: "error",
      message: `${tableName(t)} is not a table (views and foreign tables carry no WAL changes)`,
      fix: "Leave it out.",
    });
  }
  const present = tables.filter((t) => t.exists && t.kind !== "other");
  const unreadable = present.filter((t) => !t.canSelect);
  add({
    id: "select-privilege",
    ok: unreadable.length === 0,
    severity: "error",
    message: unreadable.length
      ? `no SELECT on ${unreadable.map(tableName).join(", ")} (the snapshot reads them)`
      : `SELECT on all ${present.length} tables`,
    fix: unreadable.length
      ? unreadable.map((t) => `GRANT SELECT ON ${quoteTable(t)} TO ${quoteIdent(role.name)};`).join("\n")
      : undefined,
  });

  const { rows: pubRows } = await pool.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [names.publication]);
  const notOwned = present.filter((t) => !t.owned);
  const canPublish = pubRows.length > 0 || role.super || (notOwned.length === 0 && role.can_create);
  add({
    id: "publication",
    ok: canPublish,
    severity: "error",
    message: pubRows.length
      ? `publication ${names.publication} exists and is reused`
      : canPublish
        ? `user ${role.name} can create publication ${names.publication}`
        : `user ${role.name} cannot create a publication for ${notOwned.map(tableName).join(", ") || "these tables"} (needs to own them and CREATE on the database)`,
    fix: canPublish
      ? undefined
      : `-- run as the tables' owner or a superuser:\nCREATE PUBLICATION ${quoteIdent(names.publication)} FOR TABLE ${present.map(quoteTable).join(", ")} WITH (publish_via_partition_root = true);`,
  });

  const tablesWithoutKey = present.filter((t) => !hasUsableKey(t) || t.leavesWithoutKey.length > 0);
  add(keyCheck(present, tablesWithoutKey));

  const { rows: schemaRows } = await pool.query(
    `SELECT has_schema_privilege(n.oid, 'CREATE') AS can FROM pg_namespace n WHERE nspname = 'sidecar'`,
  );
  const helperOk = schemaRows.length ? schemaRows[0].can : role.can_create;
  add({
    id: "sidecar-schema",
    ok: helperOk,
    severity: "error",
    message: helperOk
      ? "schema sidecar (heartbeat and Debezium signal tables) can be created or used"
      : "cannot create tables in schema sidecar (used for the heartbeat and Debezium's signal table)",
    fix: helperOk
      ? undefined
      : `CREATE SCHEMA IF NOT EXISTS sidecar AUTHORIZATION ${quoteIdent(role.name)};  -- as a superuser or the database owner`,
  });

  const helpers = await helperTablesCheck(pool, role);
  if (helpers) add(helpers);

  // Columns that do not land natively, and what happens to them (never a silent change).
  for (const c of await typeChecks(pool, present, version)) add(c);

  const blocking = checks.filter((c) => !c.ok && c.severity === "error");
  return {
    checks,
    tables: present,
    tablesWithoutKey,
    ok: blocking.length === 0,
    serverVersion: version,
    user: role.name,
  };
}

/** The report as a newcomer reads it: one line per check, fixes indented under failures. */
export function formatReport(report: PreflightReport): string {
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${c.ok ? "ok  " : c.severity === "error" ? "FAIL" : "warn"}  ${c.message}`);
    if (!c.ok && c.fix) for (const l of c.fix.split("\n")) lines.push(`        fix: ${l}`);
  }
  lines.push(
    report.ok
      ? "preflight passed"
      : `preflight failed: ${report.checks.filter((c) => !c.ok && c.severity === "error").length} problem(s) to fix first`,
  );
  return lines.join("\n");
}

/**
 * A table without a usable key that `--keyless full` (REPLICA IDENTITY FULL) makes projectable:
 * one with a unique index on NOT NULL columns, or a keyed partitioned table whose leaves lack an identity.
 */
export function fixableByFull(t: TableInfo): boolean {
  return t.leavesWithoutKey.length ? t.key !== undefined : t.keyCandidate !== undefined;
}

/** Which tables the projection can key, by what; the fix for each one it cannot. */
function keyCheck(present: TableInfo[], withoutKey: TableInfo[]): Check {
  const byIndex = present.filter((t) => t.key && t.key.source !== "primary key" && !withoutKey.includes(t));
  const keyedBy = byIndex.map(
    (t) => `${tableName(t)} by its ${t.key!.source} ${t.key!.index} (${t.key!.columns.join(", ")})`,
  );
  if (withoutKey.length === 0)
    return {
      id: "replica-identity",
      ok: true,
      severity: "error",
      message: `every table has a key the projection can use${keyedBy.length ? `; without a primary key: ${keyedBy.join("; ")}` : ""}`,
    };
  const label = (t: TableInfo) =>
    tableName(t) + (t.leavesWithoutKey.length ? ` (partitions ${t.leavesWithoutKey.join(", ")})` : "");
  const fixable = withoutKey.filter(fixableByFull);
  const hopeless = withoutKey.filter((t) => !fixableByFull(t));
  const fixes = [
    ...fixable.flatMap((t) =>
      t.leavesWithoutKey.length
        ? t.leavesWithoutKey.map(
            (leaf) => `ALTER TABLE ${leaf} REPLICA IDENTITY FULL;  -- attach --keyless full runs it`,
          )
        : [
            `ALTER TABLE ${quoteTable(t)} REPLICA IDENTITY USING INDEX ${quoteIdent(t.keyCandidate!)};  -- or FULL (attach --keyless full sets FULL)`,
          ],
    ),
    ...(hopeless.length
      ? [
          `${hopeless.map(label).join(", ")}: no primary key and no unique index on NOT NULL columns, so no change can be matched to a projected row: add a primary key, or leave them out (attach --keyless skip)`,
        ]
      : []),
  ];
  return {
    id: "replica-identity",
    ok: false,
    severity: "error",
    message: `no key the projection can use: ${withoutKey.map(label).join(", ")}${keyedBy.length ? ` (keyed without a primary key: ${keyedBy.join("; ")})` : ""}`,
    fix: `${fixes.join("\n")}${fixable.length && !hopeless.length ? "\nor leave them out (attach --keyless skip)" : ""}`,
  };
}

/**
 * Helper tables an earlier attach created as another user: the publication includes
 * sidecar.heartbeat (its owner must create it) and attach writes sidecar.attachment.
 */
async function helperTablesCheck(pool: PgPool, role: { name: string; super: boolean }): Promise<Check | undefined> {
  if (role.super) return undefined;
  const { rows } = await pool.query<{ tbl: string; owner: string; owned: boolean; writable: boolean }>(
    `SELECT c.relname AS tbl, pg_get_userbyid(c.relowner) AS owner, pg_has_role(c.relowner, 'USAGE') AS owned,
            has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'INSERT')
              AND has_table_privilege(c.oid, 'UPDATE') AND has_table_privilege(c.oid, 'DELETE') AS writable
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'sidecar' AND c.relname IN ('heartbeat', 'attachment')`,
  );
  const fixes = rows.flatMap((r) =>
    r.tbl === "heartbeat" && !r.owned
      ? [`ALTER TABLE sidecar.heartbeat OWNER TO ${quoteIdent(role.name)};  -- it is in every attachment's publication`]
      : !r.writable
        ? [`GRANT SELECT, INSERT, UPDATE, DELETE ON sidecar.${r.tbl} TO ${quoteIdent(role.name)};`]
        : [],
  );
  if (!fixes.length) return undefined;
  return {
    id: "helper-tables",
    ok: false,
    severity: "error",
    message: `user ${role.name} cannot use the sidecar's helper tables an earlier attach created as ${[...new Set(rows.map((r) => r.owner))].join(", ")}`,
    fix: `-- as a superuser or their owner:\n${fixes.join("\n")}`,
  };
}
