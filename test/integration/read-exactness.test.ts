import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ClickHouse } from "../../src/clickhouse/client.js";
import { memoryFreshness } from "../../src/read/freshness.js";
import { META, openTempClickHouse, readApp } from "../helpers/read-fixture.js";
import { stackEnv } from "../helpers/stack.js";

/**
 * Exactness of the read API's answers, over HTTP, against a real embedded ClickHouse holding a
 * table shaped as the projector makes it from a legacy Postgres table (src/cdc/types.ts:
 * timestamptz → DateTime64(6, 'UTC'), timestamp(3) → DateTime64(3, 'UTC'), date → Date32,
 * numeric without precision → String, float8/real → Float64/Float32). The same rows live in a
 * Postgres temporary table: every expected answer is Postgres' own.
 */
const DB = "sidecar_exact";
const TABLE = "legacy__ledger";
const TOKEN = "read-token-exact";

/** id, grp, at (timestamptz), at3 (timestamp(3)), day (date), amount (numeric), label, f8, f4. */
const ROWS: string[] = [
  // a: both sides of 1970, the extremes of the range, the microsecond before the epoch.
  "(1, 'a', '1900-01-01 00:00:00.000001+00', '1969-12-31 23:59:59.999', '1900-01-01', '123456789012345678901234567890.123456789', 'x', '-0', '-0')",
  "(2, 'a', '2299-12-31 23:59:59.999999+00', '2299-12-31 23:59:59.999', '2299-12-31', '-0.50', 'y', '0', '0')",
  "(3, 'a', '1969-12-31 23:59:59.999999+00', '1900-01-01 00:00:00.001', '1969-12-31', '0.000000000000000000000000000001', 'z', '-1.5', '2.25')",
  "(4, 'a', '1970-01-01 00:00:00+00', NULL, '1970-01-01', NULL, 'x', NULL, '1')",
  // b: all before 1970; sums that carry past 36 digits.
  "(5, 'b', '1950-06-15 12:34:56.654321+00', '1950-06-15 12:34:56.654', '1950-06-15', '-99999999999999999999.99', 'x', NULL, '0')",
  "(6, 'b', '1901-02-03 04:05:06.070809+00', '1901-02-03 04:05:06.070', '1901-02-03', '1.5', 'x', NULL, '0')",
  "(7, 'b', '1969-07-20 20:17:40+00', '1969-07-20 20:17:40', '1969-07-20', '42', 'x', NULL, '0')",
  "(8, 'b', '1969-12-31 23:59:59.5+00', NULL, '1969-12-31', '999999999999999999999999999999999999.5', 'x', NULL, '0')",
  "(9, 'b', '1900-01-01 00:00:00+00', '1900-01-01 00:00:00', '1900-01-01', '999999999999999999999999999999999999.25', 'x', NULL, '0')",
  // c: one Infinity among finite values; d: Infinity and -Infinity (NaN); n: a NaN.
  "(10, 'c', '2024-02-29 23:59:59.5+00', '2024-02-29 23:59:59.5', '2024-02-29', 'Infinity', 'x', NULL, '0')",
  "(11, 'c', '1960-01-01 00:00:00+00', '1960-01-01 00:00:00', '1960-01-01', '7.25', 'x', NULL, '0')",
  "(12, 'c', '2100-01-01 00:00:00.000001+00', '2100-01-01 00:00:00.001', '2100-01-01', NULL, 'x', NULL, '0')",
  "(13, 'd', '1935-05-05 05:05:05.050505+00', '1935-05-05 05:05:05.050', '1935-05-05', '-Infinity', 'x', NULL, '0')",
  "(14, 'd', '2035-05-05 05:05:05.050505+00', '2035-05-05 05:05:05.050', '2035-05-05', 'Infinity', 'x', NULL, '0')",
  "(15, 'n', '1969-12-31 00:00:00+00', '1969-12-31 00:00:00', '1969-12-31', 'NaN', 'x', NULL, '0')",
  "(16, 'n', '1970-01-02 00:00:00+00', '1970-01-02 00:00:00', '1970-01-02', '5', 'x', NULL, '0')",
  // e: no amount at all.
  "(17, 'e', '1999-12-31 23:59:59.999999+00', '1999-12-31 23:59:59.999', '1999-12-31', NULL, 'x', NULL, '0')",
  "(18, 'e', '1940-01-01 00:00:00+00', '1940-01-01 00:00:00', '1940-01-01', NULL, 'x', NULL, '0')",
  // w: wider than an exact Decimal256 sum takes (31 decimals; 37 digits): refused, never rounded.
  "(19, 'w', '2000-01-01 00:00:00+00', '2000-01-01 00:00:00', '2000-01-01', '1.0000000000000000000000000000001', 'x', NULL, '0')",
  "(20, 'v', '2000-01-01 00:00:00+00', '2000-01-01 00:00:00', '2000-01-01', '1234567890123456789012345678901234567', 'x', NULL, '0')",
];

let ch: ClickHouse;
let cleanup: () => Promise<void>;
let pgc: pg.Client;
let server: ReturnType<typeof serve>;
let base: string;

beforeAll(async () => {
  pgc = new pg.Client({ connectionString: stackEnv().DATABASE_URL, application_name: "test-read-exactness" });
  await pgc.connect();
  await pgc.query(`CREATE TEMP TABLE ledger (id int PRIMARY KEY, grp text NOT NULL, at timestamptz NOT NULL,
    at3 timestamp(3), day date NOT NULL, amount numeric, label text NOT NULL, f8 float8, f4 real NOT NULL)`);
  await pgc.query(`INSERT INTO ledger VALUES ${ROWS.join(",\n")}`);

  ({ ch, cleanup } = await openTempClickHouse("read-exact"));
  await ch.command({ query: `CREATE DATABASE ${DB}` });
  await ch.command({
    query: `CREATE TABLE ${DB}.${TABLE} (id Int32, grp String, at DateTime64(6, 'UTC'), at3 Nullable(DateTime64(3, 'UTC')),
      day Date32, amount Nullable(String), label String, f8 Nullable(Float64), f4 Float32, ${META})
      ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY (id)`,
  });
  // Each value as Postgres writes it; floats as text, so -0 reaches ClickHouse as -0 (JSON.stringify(-0) is "0").
  const { rows } = await pgc.query<Record<string, string | null>>(`SELECT id::text, grp,
      to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at, to_char(at3, 'YYYY-MM-DD HH24:MI:SS.MS') AS at3,
      day::text, amount::text, label, f8::text, f4::text FROM ledger ORDER BY id`);
  const lines = rows.map((r) =>
    JSON.stringify({ ...r, _version: 1, _deleted: 0, _commit_ts: "2024-01-01 00:00:00.000000", _lsn: 1 }),
  );
  await ch.command({ query: `INSERT INTO ${DB}.${TABLE} FORMAT JSONEachRow ${lines.join("\n")}` });

  const app = readApp(
    ch,
    DB,
    memoryFreshness(() => ({ lsn: 1000n, commitTime: new Date(), updatedAt: new Date() })),
    TOKEN,
  );
  server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await pgc?.end().catch(() => undefined);
  await cleanup?.();
});

/** GET over HTTP; the body's text as sent, and parsed (JSON.parse keeps -0). */
async function get(path: string, params: Record<string, string | string[]>) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) sp.append(k, x);
  const res = await fetch(`${base}${path}?${sp}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: answers of many shapes
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, text, body };
}

const aggregate = (params: Record<string, string | string[]>) => get(`/api/tables/${TABLE}/aggregate`, params);

async function pgRows<T>(sql: string): Promise<T[]> {
  return (await pgc.query(sql)).rows as T[];
}

describe("min/max of date-times and dates, grouped, on every run", () => {
  test("DateTime64(6), DateTime64(3) and Date32 before and after 1970: five runs of one query, each exact", async () => {
    const expected = await pgRows<Record<string, string | null>>(`SELECT grp,
        to_char(min(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS min_at,
        to_char(max(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS max_at,
        to_char(min(at3), 'YYYY-MM-DD HH24:MI:SS.MS') AS min_at3,
        to_char(max(at3), 'YYYY-MM-DD HH24:MI:SS.MS') AS max_at3,
        min(day)::text AS min_day, max(day)::text AS max_day
      FROM ledger GROUP BY grp ORDER BY grp`);
    const params = { metrics: "min:at,max:at,min:at3,max:at3,min:day,max:day", groupBy: "grp", order: "grp" };
    for (let run = 1; run <= 5; run++) {
      const r = await aggregate(params);
      expect(r.status, r.text).toBe(200);
      expect({ run, data: r.body.data }).toEqual({ run, data: expected });
    }
  });
});

describe("sum and avg of a numeric column without precision (String in ClickHouse)", () => {
  const sumsSql = (where: string) => `SELECT grp, sum(amount)::text AS sum_amount, avg(amount)::text AS avg_amount,
      count(*)::text AS count FROM ledger ${where} GROUP BY grp ORDER BY grp`;

  test("grouped sums equal Postgres' sum exactly (its scale too); avg as close as a float gets", async () => {
    const expected = await pgRows<{ grp: string; sum_amount: string | null; avg_amount: string | null }>(
      sumsSql("WHERE grp NOT IN ('w', 'v')"),
    );
    // The cases this covers: carries past 36 digits, 30 decimals, Infinity, NaN, all NULL.
    expect(expected.map((e) => e.sum_amount)).toEqual([
      "123456789012345678901234567889.623456789000000000000000000001",
      "1999999999999999900000000000000000042.26",
      "Infinity",
      "NaN",
      null,
      "NaN",
    ]);
    const r = await aggregate({
      metrics: "sum:amount,avg:amount,count",
      groupBy: "grp",
      filter: ["grp:ne:w", "grp:ne:v"],
      order: "grp",
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.map((d: { grp: string }) => d.grp)).toEqual(expected.map((e) => e.grp));
    r.body.data.forEach((d: { grp: string; sum_amount: unknown; avg_amount: unknown }, i: number) => {
      const e = expected[i];
      expect({ grp: d.grp, sum: d.sum_amount }).toEqual({ grp: e?.grp, sum: e?.sum_amount });
      const pgAvg = e?.avg_amount ?? null;
      if (pgAvg === null || !/^-?\d/.test(pgAvg))
        expect({ grp: d.grp, avg: d.avg_amount }).toEqual({ grp: e?.grp, avg: pgAvg });
      else {
        expect(typeof d.avg_amount).toBe("number");
        const want = Number(pgAvg);
        expect(Math.abs((d.avg_amount as number) - want)).toBeLessThanOrEqual(Math.abs(want) * 1e-15);
      }
    });
  });

  test("ungrouped, filtered, and ordered by the sum like Postgres orders it", async () => {
    const [whole] = await pgRows<{ s: string }>("SELECT sum(amount)::text AS s FROM ledger WHERE grp IN ('a', 'b')");
    const one = await aggregate({ metrics: "sum:amount", filter: "grp:in:a,b" });
    expect(one.status, one.text).toBe(200);
    expect(one.body.data).toEqual([{ sum_amount: whole?.s }]);

    const order = await pgRows<{ grp: string; s: string }>(
      "SELECT grp, sum(amount)::text AS s FROM ledger WHERE grp IN ('a', 'b', 'c', 'd', 'n') GROUP BY grp ORDER BY sum(amount) DESC, grp",
    );
    const byDesc = await aggregate({
      metrics: "sum:amount",
      groupBy: "grp",
      filter: "grp:in:a,b,c,d,n",
      order: "sum_amount:desc",
    });
    expect(byDesc.status, byDesc.text).toBe(200);
    expect(byDesc.body.data).toEqual(order.map((o) => ({ grp: o.grp, sum_amount: o.s })));

    // Ascending, by sum and by avg, with the group whose amounts are all NULL (last, in both).
    for (const fn of ["sum", "avg"]) {
      const asc = await pgRows<{ grp: string }>(
        `SELECT grp FROM ledger WHERE grp NOT IN ('w', 'v') GROUP BY grp ORDER BY ${fn}(amount) ASC NULLS LAST, grp`,
      );
      const byAsc = await aggregate({
        metrics: `${fn}:amount`,
        groupBy: "grp",
        filter: ["grp:ne:w", "grp:ne:v"],
        order: `${fn}_amount:asc`,
      });
      expect(byAsc.status, byAsc.text).toBe(200);
      expect({ fn, groups: byAsc.body.data.map((d: { grp: string }) => d.grp) }).toEqual({
        fn,
        groups: asc.map((a) => a.grp),
      });
    }
  });

  test("in a filled time series: each month's sum and avg as Postgres', empty months sum 0 and avg null", async () => {
    const months = await pgRows<{ month: string; s: string | null; a: string | null; n: number }>(`
      SELECT to_char(m, 'YYYY-MM-DD') AS month, sum(l.amount)::text AS s, avg(l.amount)::text AS a, count(l.id)::int AS n
        FROM generate_series(date '1969-06-01', date '1970-02-01', interval '1 month') m
        LEFT JOIN ledger l ON date_trunc('month', l.day) = m AND l.grp NOT IN ('w', 'v')
       GROUP BY m ORDER BY m`);
    const r = await aggregate({
      metrics: "count,sum:amount,avg:amount",
      groupBy: "day:month",
      filter: ["day:gte:1969-06-01", "day:lt:1970-03-01", "grp:ne:w", "grp:ne:v"],
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.series).toEqual({ column: "day", bucket: "month", filled: true });
    expect(r.body.data).toEqual(
      months.map((m) => ({
        day: m.month,
        count: String(m.n),
        sum_amount: m.n === 0 ? "0" : m.s,
        avg_amount: m.a === null || !/^-?\d/.test(m.a) ? m.a : Number(m.a),
      })),
    );
  });

  test("a value wider than an exact sum allows is refused (422), text that is no number too (400)", async () => {
    for (const grp of ["w", "v"]) {
      const wide = await aggregate({ metrics: "sum:amount", filter: `grp:eq:${grp}` });
      expect(wide.status, wide.text).toBe(422);
      expect(wide.body.errors).toEqual([{ field: "metrics", reason: expect.stringMatching(/amount/) }]);
    }
    // Refused even when the wide value's group is not in the answer (it could change which groups are).
    const limited = await aggregate({ metrics: "sum:amount", groupBy: "grp", order: "grp", limit: "1" });
    expect(limited.status, limited.text).toBe(422);
    const text = await aggregate({ metrics: "sum:label", groupBy: "grp" });
    expect(text.status, text.text).toBe(400);
    expect(text.body.errors).toEqual([{ field: "metrics", reason: expect.stringMatching(/label/) }]);
  });
});

describe("negative zero", () => {
  test("a float8/real -0 reads back as -0 through the rows endpoint's JSON", async () => {
    const r = await get(`/api/tables/${TABLE}/rows`, { columns: "id,f8,f4", filter: "id:in:1,2,3", order: "id" });
    expect(r.status, r.text).toBe(200);
    expect(r.text).toContain('{"id":1,"f8":-0,"f4":-0}');
    expect(r.text).toContain('{"id":2,"f8":0,"f4":0}');
    const [one, two, three] = r.body.data;
    expect(Object.is(one.f8, -0) && Object.is(one.f4, -0)).toBe(true);
    expect(Object.is(two.f8, 0) && Object.is(two.f4, 0)).toBe(true);
    expect(three).toEqual({ id: 3, f8: -1.5, f4: 2.25 });
  });

  test("and as -0 in the CSV export, as Postgres' COPY writes it", async () => {
    const r = await get(`/api/tables/${TABLE}/csv`, { columns: "id,f8,f4", filter: "id:in:1,2,3", order: "id" });
    expect(r.status, r.text).toBe(200);
    const copy = await pgRows<{ line: string }>(
      "SELECT concat_ws(',', id, f8, f4) AS line FROM ledger WHERE id IN (1, 2, 3) ORDER BY id",
    );
    expect(r.text).toBe(`id,f8,f4\n${copy.map((c) => `${c.line}\n`).join("")}`);
    expect(r.text).toContain("1,-0,-0\n");
  });
});
