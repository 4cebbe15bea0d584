import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, preflight } from "../../src/attach/preflight.js";
import { attachNames } from "../../src/attach/tables.js";
import { startTempPostgres } from "../helpers/temp-postgres.js";

describe("attach preflight on a database with wal_level=replica", () => {
  let server: Awaited<ReturnType<typeof startTempPostgres>>;
  let pool: pg.Pool;
  const snapshot = async () =>
    (
      await pool.query(
        `SELECT (SELECT count(*) FROM pg_publication)::int AS pubs, (SELECT count(*) FROM pg_replication_slots)::int AS slots,
                (SELECT count(*) FROM pg_namespace WHERE nspname = 'sidecar')::int AS schemas,
                (SELECT relreplident FROM pg_class WHERE oid = 'legacy.events'::regclass) AS ident`,
      )
    ).rows[0];

  beforeAll(async () => {
    server = await startTempPostgres({ wal_level: "replica" });
    pool = new pg.Pool({ connectionString: server.url, max: 1 });
    await pool.query("CREATE SCHEMA legacy");
    await pool.query("CREATE TABLE legacy.accounts (id int PRIMARY KEY, name text)");
    await pool.query("CREATE TABLE legacy.events (at timestamptz, payload jsonb)"); // no primary key
    await pool.query('CREATE TABLE legacy."v1.2" (id int PRIMARY KEY)'); // its topic would have four parts
    await pool.query("CREATE ROLE reader LOGIN PASSWORD 'reader'");
  }, 120_000);

  afterAll(async () => {
    await pool?.end();
    server?.stop();
  });

  it("reports wal_level and every other problem with its exact fix, and changes nothing", async () => {
    const before = await snapshot();
    const report = await preflight(
      pool,
      [
        { schema: "legacy", table: "accounts" },
        { schema: "legacy", table: "events" },
        { schema: "legacy", table: "missing" },
        { schema: "legacy", table: "v1.2" },
      ],
      attachNames("legacy"),
    );
    const text = formatReport(report);
    expect(report.checks.find((c) => c.id === "table-names")).toMatchObject({ ok: false, severity: "error" });
    expect(text).toMatch(/a dot in the name of "legacy\.v1\.2": .* the projector would never read it/);

    expect(report.ok).toBe(false);
    const wal = report.checks.find((c) => c.id === "wal-level")!;
    expect(wal.ok).toBe(false);
    expect(wal.message).toMatch(/wal_level is replica/);
    expect(wal.fix).toBe("ALTER SYSTEM SET wal_level = logical;  -- then restart PostgreSQL");
    expect(report.tablesWithoutKey.map((t) => t.table)).toEqual(["events"]);
    // No unique index either: nothing can key it, so the fix is a primary key or leaving it out.
    expect(text).toMatch(/legacy\.events: no primary key and no unique index on NOT NULL columns/);
    expect(text).toMatch(/--keyless skip/);
    expect(text).toMatch(/table legacy\.missing does not exist/);
    expect(report.checks.find((c) => c.id === "replication-privilege")?.ok).toBe(true); // superuser
    expect(text).toMatch(/preflight failed/);

    expect(await snapshot()).toEqual(before);
  });

  it("names the missing privileges of a plain user with GRANT/ALTER ROLE fixes", async () => {
    const plain = new pg.Pool({ connectionString: server.url.replace("postgres:postgres@", "reader:reader@"), max: 1 });
    try {
      const report = await preflight(plain, [{ schema: "legacy", table: "accounts" }], attachNames("legacy"));
      const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
      expect(byId["replication-privilege"]?.fix).toBe('ALTER ROLE "reader" WITH REPLICATION;');
      expect(byId["select-privilege"]?.fix).toBe('GRANT SELECT ON "legacy"."accounts" TO "reader";');
      expect(byId.publication?.ok).toBe(false);
      expect(byId.publication?.fix).toMatch(/CREATE PUBLICATION "sidecar_attach_legacy" FOR TABLE "legacy"."accounts"/);
    } finally {
      await plain.end();
    }
  });
});
