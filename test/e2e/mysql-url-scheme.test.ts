import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectClient } from "../../src/connect/connect-client.js";
import { type MysqlPool, openMysql, parseMysqlUrl, quoteMy } from "../../src/mysql/source.js";
import { ensureMariadb, mariadbUrl } from "../helpers/mariadb.js";
import { stackEnv } from "../helpers/stack.js";
import { makeUp, runCli } from "../helpers/user-stack.js";

/**
 * A mysql:// URL that points at a MariaDB server: the server, not the scheme, picks Debezium's
 * connector. The CLI runs as its own process against the stack `make up` started (its sidecar
 * projects), as a user would: attach (preflight says which connector), changes streamed, verify
 * clean, detach leaves no connector. FLOAT values that need every digit ride along.
 */
const native = (process.env.TEST_STACK ?? "native") === "native";
const id = randomBytes(3).toString("hex");
const db = `m_scheme_${id}`;
const name = `scheme_${id}`;
/** The stack's MariaDB, under the other scheme. */
const url = mariadbUrl().replace(/^mariadb:/, "mysql:");

/** Whether the sidecar `make up` starts answers (any answer of its read API). */
async function sidecarUp(): Promise<boolean> {
  const port = process.env.READ_API_PORT ?? "3001";
  return fetch(`http://127.0.0.1:${port}/health`).then(
    () => true,
    () => false,
  );
}

describe.runIf(native)("a mysql:// URL to a MariaDB server, through the CLI", () => {
  const connect = new ConnectClient(stackEnv().KAFKA_CONNECT_URL);
  let pool: MysqlPool;
  const sql = (statement: string) => pool.query(statement);

  beforeAll(async () => {
    await ensureMariadb();
    if (!(await sidecarUp())) await makeUp();
    pool = await openMysql(parseMysqlUrl(url), 1);
    await sql(`CREATE DATABASE ${quoteMy(db)}`);
    await sql(`CREATE TABLE ${quoteMy(db)}.t (id INT PRIMARY KEY, label VARCHAR(40), fl FLOAT, db DOUBLE)`);
    await sql(
      `INSERT INTO ${quoteMy(db)}.t VALUES (1, 'one', -158421.171875, 1.7976931348623157e308),
         (2, 'two', 66923.2734375, 5e-324), (3, 'three', 3.4028234663852886e38, 0.1)`,
    );
  }, 660_000);

  afterAll(async () => {
    if (await connect.status(`attach_${name}`))
      await runCli(["detach", "--database-url", url, "--name", name, "--drop-data", "--yes"]);
    await sql(`DROP DATABASE IF EXISTS ${quoteMy(db)}`).catch(() => undefined);
    await pool?.end();
  }, 180_000);

  it("opening the source asks the server which it is: the scheme is only what the URL said", async () => {
    const source = parseMysqlUrl(url);
    expect(source).toMatchObject({ flavor: "mysql", scheme: "mysql" });
    await (await openMysql(source, 1)).end();
    expect(source).toMatchObject({ flavor: "mariadb", scheme: "mysql" });
  });

  it("attach picks the MariaDB connector, streams, verifies clean, and detaches", async () => {
    const attach = await runCli(["attach", "--database-url", url, "--tables", `${db}.t`, "--name", name], {
      timeoutMs: 300_000,
    });
    expect(attach.code, attach.out).toBe(0);
    expect(attach.out).toMatch(
      /ok {4}server \S+MariaDB\S* \(MariaDB\): Debezium's MariaDB connector \(the URL says mysql:\/\/; the server decides\)/,
    );
    expect(attach.out).toMatch(/snapshot copied: 3 rows/);
    const config = await connect.getConfig(`attach_${name}`);
    expect(config?.["connector.class"]).toBe("io.debezium.connector.mariadb.MariaDbConnector");

    await sql(`UPDATE ${quoteMy(db)}.t SET label = 'changed', fl = 1.401298464324817e-45 WHERE id = 1`);
    await sql(`DELETE FROM ${quoteMy(db)}.t WHERE id = 2`);
    await sql(`INSERT INTO ${quoteMy(db)}.t VALUES (4, 'four', -3.4028234663852886e38, -5e-324)`);
    const verify = await runCli(["verify", "--database-url", url, "--name", name, "--wait", "120"], {
      timeoutMs: 180_000,
    });
    expect(verify.code, verify.out).toBe(0);
    expect(verify.out).toMatch(new RegExp(`ok {4}${db}\\.t → ${db}__t: MariaDB 3 rows`));
    expect(verify.out).toMatch(/verify: 1 table\(s\) identical/);

    const detach = await runCli(["detach", "--database-url", url, "--name", name, "--drop-data", "--yes"], {
      timeoutMs: 120_000,
    });
    expect(detach.code, detach.out).toBe(0);
    expect(detach.out).toMatch(new RegExp(`connector attach_${name} removed`));
    expect(await connect.status(`attach_${name}`)).toBeUndefined();
  }, 600_000);
});
