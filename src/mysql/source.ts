import mysql from "mysql2/promise";

/**
 * A MySQL or MariaDB source, from its URL (`mysql://user:pass@host:3306[/db]` or `mariadb://…`,
 * either scheme for either server). The server, not the scheme, picks the Debezium connector
 * (MariaDB has its own since Debezium 2.7): openMysql asks it. The database in the path is only
 * where the client connects first: attach names its tables as `database.table`.
 */
export type Flavor = "mysql" | "mariadb";

export interface MysqlSource {
  /** The server's kind: the URL's scheme until openMysql has asked the server. */
  flavor: Flavor;
  /** The URL's scheme, as written. */
  scheme: Flavor;
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
}

export const isMysqlUrl = (url: string): boolean => /^(mysql|mariadb):\/\//i.test(url);

export function parseMysqlUrl(url: string): MysqlSource {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`"${redactMysqlUrl(url)}" is not a URL (mysql://user:password@host:3306 or mariadb://…)`);
  }
  const flavor = u.protocol.replace(/:$/, "").toLowerCase();
  if (flavor !== "mysql" && flavor !== "mariadb") throw new Error(`not a mysql:// or mariadb:// URL: ${u.protocol}`);
  if (!u.hostname) throw new Error("the database URL has no host");
  if (!u.username) throw new Error("the database URL has no user (mysql://user:password@host:3306)");
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || undefined;
  return {
    flavor,
    scheme: flavor,
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database,
  };
}

export const redactMysqlUrl = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");

export type MysqlPool = mysql.Pool;

/**
 * Which server this is. VERSION() says `…-MariaDB…` and @@version_comment often names it too; a
 * MariaDB whose version string was set by hand still has MariaDB's own variables (gtid_domain_id).
 */
export async function serverFlavor(pool: MysqlPool): Promise<{ flavor: Flavor; version: string }> {
  const [row] = await rowsOf<{ version: string; comment: string | null }>(
    pool,
    "SELECT VERSION() AS version, @@version_comment AS comment",
  );
  const version = row?.version ?? "";
  if (/mariadb/i.test(`${version} ${row?.comment ?? ""}`)) return { flavor: "mariadb", version };
  const maria = await pool.query("SELECT @@global.gtid_domain_id").then(
    () => true,
    () => false,
  );
  return { flavor: maria ? "mariadb" : "mysql", version };
}

/**
 * A small pool whose sessions read in UTC with every number and date as text: values are
 * compared as the source writes them, never through a JavaScript number or Date. Sets
 * `source.flavor` to the server's (serverFlavor), whatever the URL's scheme said.
 */
export async function openMysql(source: MysqlSource, connections = 2): Promise<MysqlPool> {
  const pool = mysql.createPool({
    host: source.host,
    port: source.port,
    user: source.user,
    password: source.password,
    database: source.database,
    connectionLimit: connections,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    timezone: "Z",
    charset: "utf8mb4_bin",
    multipleStatements: false,
  });
  pool.on("connection", (c) => {
    // TIMESTAMP columns are read in UTC, as Debezium sends them.
    c.query("SET time_zone = '+00:00'");
  });
  try {
    source.flavor = (await serverFlavor(pool)).flavor;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(
      `cannot connect to ${source.scheme}://${source.user}@${source.host}:${source.port}: ${(err as Error).message}`,
    );
  }
  return pool;
}

/** Rows of a query as plain objects (mysql2 returns [rows, fields]). */
export async function rowsOf<T>(pool: MysqlPool, sql: string, params: unknown[] = []): Promise<T[]> {
  const [rows] = await pool.query(sql, params);
  return rows as T[];
}

/** A MySQL identifier, quoted (names come from parseTableRef or the catalog). */
export const quoteMy = (s: string) => `\`${s.replace(/`/g, "``")}\``;
