import {
  type Check,
  dottedNameCheck,
  type PreflightReport,
  type TableInfo,
  unknownTable,
} from "../attach/preflight.js";
import { type TableRef, tableName } from "../attach/tables.js";
import { type MysqlColumn, readMysqlCatalog } from "./catalog.js";
import { type Flavor, type MysqlPool, type MysqlSource, quoteMy, rowsOf } from "./source.js";

/**
 * Preflight for a MySQL or MariaDB source: what Debezium's binlog connectors need, read-only,
 * each problem with its exact fix; the same report shape (and printout) as Postgres'.
 */
interface ServerVars {
  version: string;
  log_bin: string;
  binlog_format: string;
  binlog_row_image: string;
  server_id: string;
  gtid_mode: string | null;
  sql_mode: string;
  expire_seconds: string | null;
  user: string;
}

async function serverVars(pool: MysqlPool, flavor: Flavor): Promise<ServerVars> {
  // gtid_mode is MySQL's; MariaDB always has GTIDs and no such variable.
  const gtid = flavor === "mariadb" ? "NULL" : "@@global.gtid_mode";
  const [v] = await rowsOf<ServerVars>(
    pool,
    `SELECT VERSION() AS version, @@global.log_bin AS log_bin, @@global.binlog_format AS binlog_format,
            @@global.binlog_row_image AS binlog_row_image, @@global.server_id AS server_id,
            ${gtid} AS gtid_mode, @@global.sql_mode AS sql_mode,
            @@global.binlog_expire_logs_seconds AS expire_seconds, CURRENT_USER() AS user`,
  );
  return v as ServerVars;
}

/** 'etl'@'%' from CURRENT_USER()'s etl@%. */
function grantee(user: string): string {
  const at = user.lastIndexOf("@");
  return `'${user.slice(0, at)}'@'${user.slice(at + 1)}'`;
}

/**
 * Privileges from SHOW GRANTS, upper case: `global` on *.*, `helper` on the sidecar database (or
 * *.*); ALL PRIVILEGES stands for every one.
 */
async function privileges(pool: MysqlPool): Promise<{ global: Set<string>; helper: Set<string> }> {
  const rows = await rowsOf<Record<string, string>>(pool, "SHOW GRANTS FOR CURRENT_USER()");
  const out = { global: new Set<string>(), helper: new Set<string>() };
  for (const r of rows) {
    const m = /^GRANT (.+?) ON (\S+) TO /i.exec(Object.values(r)[0] ?? "");
    if (!m) continue;
    const on = (m[2] as string).replace(/`/g, "");
    for (const p of (m[1] as string).split(",")) {
      const priv = p.trim().toUpperCase();
      if (on === "*.*") out.global.add(priv);
      if (on === "*.*" || on === "sidecar.*") out.helper.add(priv);
    }
  }
  return out;
}

function serverChecks(
  v: ServerVars,
  source: Pick<MysqlSource, "flavor" | "scheme">,
  privs: { global: Set<string>; helper: Set<string> },
): Check[] {
  const flavor = source.flavor;
  const cnf = flavor === "mariadb" ? "the [mariadbd] section of my.cnf" : "the [mysqld] section of my.cnf";
  const has = (p: string) => privs.global.has("ALL PRIVILEGES") || privs.global.has(p);
  const helper = ["CREATE", "INSERT", "UPDATE", "DELETE", "SELECT"];
  const helperOk = privs.helper.has("ALL PRIVILEGES") || helper.every((p) => privs.helper.has(p));
  const isMaria = flavor === "mariadb";
  const kind = isMaria ? "MariaDB" : "MySQL";
  const checks: Check[] = [
    {
      // The server decides the connector (src/mysql/source.ts, serverFlavor), whatever the scheme.
      id: "flavor",
      ok: true,
      severity: "error",
      message: `server ${v.version} (${kind}): Debezium's ${kind} connector${source.scheme === flavor ? "" : ` (the URL says ${source.scheme}://; the server decides)`}`,
    },
    {
      id: "log-bin",
      ok: v.log_bin === "1" || v.log_bin === "ON",
      severity: "error",
      message: `binary log: ${v.log_bin === "1" ? "on" : "off"}`,
      fix: `add log_bin=${flavor}-bin to ${cnf}, then restart the server`,
    },
    {
      id: "binlog-format",
      ok: v.binlog_format === "ROW",
      severity: "error",
      message: `binlog_format = ${v.binlog_format}${v.binlog_format === "ROW" ? "" : " (ROW needed)"}`,
      fix: `SET GLOBAL binlog_format = 'ROW';  -- and binlog_format=ROW in ${cnf}`,
    },
    {
      id: "binlog-row-image",
      ok: v.binlog_row_image === "FULL",
      severity: "error",
      message: `binlog_row_image = ${v.binlog_row_image}${v.binlog_row_image === "FULL" ? "" : " (FULL needed: updates must carry whole rows)"}`,
      fix: `SET GLOBAL binlog_row_image = 'FULL';  -- and binlog_row_image=FULL in ${cnf}`,
    },
    {
      id: "server-id",
      ok: v.server_id !== "0",
      severity: "error",
      message: `server_id = ${v.server_id}`,
      fix: `SET GLOBAL server_id = 1;  -- and server_id=1 in ${cnf} (any number unique among your servers)`,
    },
    {
      id: "replication-slave",
      ok: has("REPLICATION SLAVE"),
      severity: "error",
      message: `user ${v.user} may read the binary log (REPLICATION SLAVE)`,
      fix: `GRANT REPLICATION SLAVE ON *.* TO ${grantee(v.user)};`,
    },
    {
      id: "replication-client",
      ok: has("REPLICATION CLIENT") || has("BINLOG MONITOR"),
      severity: "error",
      message: `user ${v.user} may read binlog positions (REPLICATION CLIENT${isMaria ? ", BINLOG MONITOR since MariaDB 10.5" : ""})`,
      fix: `GRANT ${isMaria ? "BINLOG MONITOR" : "REPLICATION CLIENT"} ON *.* TO ${grantee(v.user)};`,
    },
    {
      // Debezium's snapshot (snapshot.locking.mode=minimal) takes FLUSH TABLES WITH READ LOCK for
      // the moment it reads the binlog position; without RELOAD it locks each table instead.
      id: "snapshot-lock",
      ok: has("RELOAD") || has("LOCK TABLES"),
      severity: "error",
      message: `user ${v.user} may hold the snapshot's short read lock (RELOAD, or LOCK TABLES)`,
      fix: `GRANT RELOAD ON *.* TO ${grantee(v.user)};`,
    },
    {
      // The signal table (attach --add) and the beat table verify and detach write to.
      id: "helper-tables",
      ok: helperOk,
      severity: "error",
      message: `user ${v.user} may keep the sidecar's helper tables in a database \`sidecar\``,
      fix: `GRANT ${helper.join(", ")} ON sidecar.* TO ${grantee(v.user)};`,
    },
  ];
  if (!isMaria)
    checks.push({
      id: "gtid",
      ok: v.gtid_mode === "ON",
      severity: "warn",
      message: `gtid_mode = ${v.gtid_mode} (streaming works either way; with GTIDs the connector can follow a failover to a replica)`,
      fix: "SET GLOBAL enforce_gtid_consistency = ON; then gtid_mode OFF_PERMISSIVE, ON_PERMISSIVE, ON, one step at a time",
    });
  const expire = Number(v.expire_seconds ?? 0);
  checks.push({
    id: "binlog-retention",
    ok: expire === 0 || expire >= 86_400,
    severity: "warn",
    message: `binary logs kept ${expire === 0 ? "until purged by hand" : `${Math.round(expire / 3600)} h`} (a connector stopped longer loses its place)`,
    fix: "SET GLOBAL binlog_expire_logs_seconds = 604800;  -- a week",
  });
  return checks;
}

/** Tables: existence, SELECT, primary key; and what each column's values become. */
async function tableChecks(pool: MysqlPool, refs: TableRef[], zeroDates: boolean, user: string) {
  const checks: Check[] = [];
  const tables: TableInfo[] = [];
  for (const ref of refs) {
    const info = unknownTable(ref, "table");
    tables.push(info);
    let columns: MysqlColumn[];
    try {
      const cat = await readMysqlCatalog(pool, ref);
      columns = cat.columns;
      info.exists = true;
      info.primaryKey = cat.primaryKey;
    } catch (err) {
      checks.push({
        id: "table",
        ok: false,
        severity: "error",
        message: (err as Error).message,
        fix: `check the name, or GRANT SELECT ON ${quoteMy(ref.schema)}.${quoteMy(ref.table)} TO ${grantee(user)};`,
      });
      continue;
    }
    info.canSelect = await pool.query(`SELECT 1 FROM ${quoteMy(ref.schema)}.${quoteMy(ref.table)} LIMIT 0`).then(
      () => true,
      () => false,
    );
    if (!info.canSelect)
      checks.push({
        id: "select",
        ok: false,
        severity: "error",
        message: `${tableName(ref)}: no SELECT privilege`,
        fix: `GRANT SELECT ON ${quoteMy(ref.schema)}.${quoteMy(ref.table)} TO ${grantee(user)};  -- or ON ${quoteMy(ref.schema)}.*`,
      });
    if (!info.primaryKey.length)
      checks.push({
        id: "replica-identity",
        ok: false,
        severity: "error",
        message: `${tableName(ref)}: no primary key (its changes cannot be matched to a row in ClickHouse)`,
        fix: `ALTER TABLE ${quoteMy(ref.schema)}.${quoteMy(ref.table)} ADD PRIMARY KEY (…);  -- or attach with --keyless skip`,
      });
    for (const c of columns) {
      const note = columnNote(c, zeroDates);
      if (note)
        checks.push({
          id: "type",
          ok: false,
          severity: "warn",
          message: `${tableName(ref)}.${c.name} ${c.columnType}: ${note}`,
        });
    }
  }
  return { checks, tables };
}

/** How Debezium sends a zero date (seen on MariaDB 10.11 with the MariaDB connector 3.5). */
function zeroDateLanding(c: MysqlColumn): string {
  if (c.dataType === "timestamp") return "1970-01-01 00:00:00 UTC";
  const landing = c.nullable ? "NULL" : "1970-01-01 (the epoch: Debezium's value for a NOT NULL column)";
  // An incremental snapshot reads rows in the binary protocol (src/mysql/connector.ts), where the
  // driver rolls a DATE with a zero month or day over to a real date.
  return c.dataType === "date"
    ? `${landing}, or, read by an incremental snapshot (repair), a zero month or day rolled over ('2024-00-10' as 2023-12-10)`
    : landing;
}

/** What happens to a column's values when it is not a plain exact landing (docs/types.md, MySQL). */
export function columnNote(c: MysqlColumn, zeroDates: boolean): string | undefined {
  const dated = ["date", "datetime", "timestamp"].includes(c.dataType);
  if (dated && zeroDates)
    return `zero dates ('0000-00-00', '2024-00-10') are allowed by this server's sql_mode; Debezium sends them as ${zeroDateLanding(c)}, so verify reports those rows as different; dates before 1900 or after 2299 are refused (dead-lettered)`;
  if (c.dataType === "date" || c.dataType === "datetime")
    return "dates before 1900 or after 2299 are refused (dead-lettered): ClickHouse's Date32/DateTime64 stop there";
  if (
    [
      "geometry",
      "point",
      "linestring",
      "polygon",
      "multipoint",
      "multilinestring",
      "multipolygon",
      "geometrycollection",
    ].includes(c.dataType)
  )
    return "spatial type: lands as Debezium's JSON text of its {wkb, srid} struct; verify does not compare it exactly";
  return undefined;
}

export async function mysqlPreflight(
  pool: MysqlPool,
  source: Pick<MysqlSource, "flavor" | "scheme">,
  refs: TableRef[],
): Promise<PreflightReport> {
  const v = await serverVars(pool, source.flavor);
  const privs = await privileges(pool);
  const zeroDates = !/NO_ZERO_DATE/.test(v.sql_mode) || !/STRICT_(TRANS|ALL)_TABLES/.test(v.sql_mode);
  const { checks: perTable, tables } = await tableChecks(pool, refs, zeroDates, v.user);
  const dotted = dottedNameCheck(refs);
  const checks = [...serverChecks(v, source, privs), ...(dotted ? [dotted] : []), ...perTable];
  return {
    checks,
    tables,
    tablesWithoutKey: tables.filter((t) => t.exists && t.primaryKey.length === 0),
    ok: checks.every((c) => c.ok || c.severity !== "error"),
    serverVersion: 0,
    user: v.user,
  };
}

/** Every base table of these databases. */
export async function tablesOfDatabase(pool: MysqlPool, database: string): Promise<TableRef[]> {
  const rows = await rowsOf<{ name: string }>(
    pool,
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    [database],
  );
  return rows.map((r) => ({ schema: database, table: r.name }));
}
