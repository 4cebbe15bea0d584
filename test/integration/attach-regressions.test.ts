import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attach } from "../../src/attach/attach.js";
import { startReadApi } from "../../src/read/app.js";
import { memoryFreshness } from "../../src/read/freshness.js";
import { parseLsn } from "../../src/shared/lsn.js";
import { type AttachmentFixture, createAttachmentFixture } from "../helpers/attachment.js";

/**
 * The three ways a schema nobody here wrote broke the pipeline (issue 14), on the real stack:
 * 1. a nullable enum column with a DEFAULT: NULL landed as the default label;
 * 2. a nullable generated numeric column: NULL landed as 0;
 * 3. TRUNCATE … CASCADE over the attached tables: the projector retried one truncate forever,
 *    the tables kept their rows and the watermark stopped for every table.
 * The schema is shaped like a film-rental sample database: foreign keys, a partitioned table.
 */
describe("attach regressions: NULLs with defaults, TRUNCATE CASCADE", () => {
  let fx: AttachmentFixture;
  let s = "";
  let readApi: Awaited<ReturnType<typeof startReadApi>> | undefined;

  beforeAll(async () => {
    fx = await createAttachmentFixture("rg", (id) => [`rg_${id}`]);
    s = `rg_${fx.id}`;
    await fx.pool.query(`
      CREATE SCHEMA ${s};
      CREATE TYPE ${s}.rating AS ENUM ('G', 'PG', 'R');
      CREATE TABLE ${s}.film (
        film_id serial PRIMARY KEY,
        title text NOT NULL,
        rating ${s}.rating DEFAULT 'G',
        rental_rate numeric(4, 2) DEFAULT 4.99,
        replacement_cost numeric(5, 2),
        cost_per_day numeric GENERATED ALWAYS AS (replacement_cost / 7) STORED,
        length smallint DEFAULT 90,
        special boolean DEFAULT true,
        tags text[] DEFAULT '{new}'
      );
      CREATE TABLE ${s}.actor (actor_id serial PRIMARY KEY, name text NOT NULL);
      CREATE TABLE ${s}.film_actor (
        actor_id int REFERENCES ${s}.actor, film_id int REFERENCES ${s}.film, PRIMARY KEY (actor_id, film_id)
      );
      CREATE TABLE ${s}.payment (
        payment_id int NOT NULL, paid_on date NOT NULL, film_id int REFERENCES ${s}.film, amount numeric(6, 2),
        PRIMARY KEY (paid_on, payment_id)
      ) PARTITION BY RANGE (paid_on);
      CREATE TABLE ${s}.payment_2024 PARTITION OF ${s}.payment FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      CREATE TABLE ${s}.payment_2025 PARTITION OF ${s}.payment FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE ${s}.untouched (id int PRIMARY KEY, note text);

      INSERT INTO ${s}.film (title, rating, rental_rate, replacement_cost, length, special, tags)
        SELECT 'film ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE (ARRAY['PG','R'])[1 + g % 2]::${s}.rating END,
               CASE WHEN g % 4 = 0 THEN NULL ELSE 2.99 END, CASE WHEN g % 5 = 0 THEN NULL ELSE g END,
               CASE WHEN g % 6 = 0 THEN NULL ELSE 100 END, CASE WHEN g % 7 = 0 THEN NULL ELSE false END,
               CASE WHEN g % 8 = 0 THEN NULL ELSE ARRAY['x'] END
          FROM generate_series(1, 300) g;
      INSERT INTO ${s}.actor (name) SELECT 'actor ' || g FROM generate_series(1, 50) g;
      INSERT INTO ${s}.film_actor SELECT 1 + g % 50, g FROM generate_series(1, 300) g;
      INSERT INTO ${s}.payment SELECT g, date '2024-06-01' + (g % 400), 1 + g % 300, g / 10.0 FROM generate_series(1, 1000) g;
      INSERT INTO ${s}.untouched SELECT g, 'n' || g FROM generate_series(1, 20) g;
    `);
  }, 300_000);

  afterAll(async () => {
    await readApi?.close().catch(() => undefined);
    await fx?.close();
  }, 180_000);

  const nullCounts = async () => {
    const r = await fx.pool.query(
      `SELECT count(*) FILTER (WHERE rating IS NULL)::int AS rating,
              count(*) FILTER (WHERE rental_rate IS NULL)::int AS rate, count(*) FILTER (WHERE length IS NULL)::int AS length,
              count(*) FILTER (WHERE special IS NULL)::int AS special, count(*) FILTER (WHERE tags IS NULL)::int AS tags
         FROM ${s}.film`,
    );
    return r.rows[0] as Record<string, number>;
  };
  const projectedNullCounts = async () => {
    const rows = await fx.ch
      .query({
        query: `SELECT countIf(rating IS NULL) AS rating, countIf(rental_rate IS NULL) AS rate,
                       countIf(length IS NULL) AS length, countIf(special IS NULL) AS special, countIf(variantType(tags) = 'None') AS tags
                  FROM sidecar.${s}__film FINAL WHERE _deleted = 0`,
        format: "JSONEachRow",
      })
      .then((r) => r.json<Record<string, number | string>>());
    return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
  };

  it("snapshot and streaming keep NULL in nullable columns that have a default or are generated", async () => {
    await attach(fx.deps(), { name: fx.name, schema: s, wait: false });
    const projector = await fx.project();
    readApi = await startReadApi(fx.config, {
      clickhouse: fx.ch,
      freshness: memoryFreshness(() => {
        const wm = projector.watermark();
        return wm ? { lsn: wm.lsn, commitTime: wm.commitTs, updatedAt: wm.publishedAt } : null;
      }),
      port: 0,
      hostname: "127.0.0.1",
    });
    let report = await fx.verify();
    expect(report.ok, report.text).toBe(true);
    expect(await projectedNullCounts()).toEqual(await nullCounts());
    // The generated column is named by preflight and not projected: no streamed change could carry
    // its value (PostgreSQL before 18 does not replicate generated columns), so none lands wrong.
    expect(fx.lines.join("\n")).toMatch(/cost_per_day \(numeric\): generated column: not projected/);
    const cols = await fx.ch
      .query({ query: `SELECT name FROM system.columns WHERE table = '${s}__film'`, format: "JSONEachRow" })
      .then((r) => r.json<{ name: string }>());
    expect(cols.map((c) => c.name)).not.toContain("cost_per_day");

    // Streamed rows: NULL set explicitly, NULL through the generated column, and back to values.
    await fx.pool.query(`INSERT INTO ${s}.film (title, rating, rental_rate, replacement_cost, length, special, tags)
                         VALUES ('streamed null', NULL, NULL, NULL, NULL, NULL, NULL)`);
    await fx.pool.query(`UPDATE ${s}.film SET rating = NULL, replacement_cost = NULL WHERE film_id <= 10`);
    await fx.pool.query(`UPDATE ${s}.film SET rating = 'R', replacement_cost = 9.5 WHERE film_id <= 5`);
    report = await fx.verify();
    expect(report.ok, report.text).toBe(true);
    const counts = await nullCounts();
    expect(counts.rating).toBeGreaterThan(100);
    expect(await projectedNullCounts()).toEqual(counts);

    // A dashboard's count per rating has a NULL group of the right size, nothing under 'G'.
    const res = await fetch(`${readApi.url}/api/tables/${s}__film/aggregate?metrics=count&groupBy=rating`);
    expect(res.status).toBe(200);
    const groups = ((await res.json()) as { data: { rating: string | null; count: number | string }[] }).data;
    const byRating = Object.fromEntries(groups.map((g) => [String(g.rating), Number(g.count)]));
    const pg = await fx.pool.query(`SELECT rating::text AS r, count(*)::int AS n FROM ${s}.film GROUP BY 1`);
    expect(byRating).toEqual(Object.fromEntries(pg.rows.map((r) => [String(r.r), r.n])));
  }, 600_000);

  it("TRUNCATE … CASCADE over several tables (one partitioned) empties them, and streaming goes on for all", async () => {
    await fx.pool.query(`TRUNCATE ${s}.film, ${s}.actor CASCADE`);
    await fx.pool.query(`INSERT INTO ${s}.actor (name) VALUES ('after truncate')`);
    await fx.pool.query(`INSERT INTO ${s}.film (title) VALUES ('after truncate')`);
    await fx.pool.query(`INSERT INTO ${s}.payment VALUES (1, '2025-03-01', NULL, 1.5)`);
    await fx.pool.query(`UPDATE ${s}.untouched SET note = NULL WHERE id = 3`);
    const lsn = parseLsn(
      (await fx.pool.query<{ l: string }>("SELECT pg_current_wal_lsn()::text AS l")).rows[0]?.l as string,
    );
    // The watermark passes the truncates (it stopped for good before).
    await fx.projector()?.waitForLsn(lsn, 120_000);
    const report = await fx.verify();
    expect(report.ok, report.text).toBe(true);
    const rows = Object.fromEntries(report.tables.map((t) => [t.table.split(".")[1], t.clickhouseRows]));
    expect(rows).toEqual({ actor: 1, film: 1, film_actor: 0, payment: 1, untouched: 20 });
    // A token read of every table is answered.
    const res = await fetch(`${readApi?.url}/api/tables`, {
      headers: { "x-consistency-token": (await fx.pool.query("SELECT pg_current_wal_lsn()::text AS l")).rows[0].l },
    });
    expect(res.status).toBe(200);
  }, 300_000);
});
