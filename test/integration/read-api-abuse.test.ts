import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type ClickHouse, queryRows } from "../../src/clickhouse/client.js";
import { ApiError } from "../../src/http/problem.js";
import { DEFAULT_DOMAIN_TABLES } from "../../src/read/app.js";
import { memoryFreshness, type Watermark } from "../../src/read/freshness.js";
import { progressTableFreshness } from "../../src/read/progress.js";
import { createQueryRunner } from "../../src/read/query.js";
import { createShopTables, openTempClickHouse, readApp } from "../helpers/read-fixture.js";

/**
 * The read API against a real embedded ClickHouse: every parameter gets quotes, comments,
 * semicolons, unicode, unknown names, absurd numbers. Each answer must be a 4xx or a safely
 * escaped 200; no answer may carry ClickHouse's text or reach another table.
 */
const DB = "sidecar_abuse";
const TOKEN = "read-token-abuse";
const T = DEFAULT_DOMAIN_TABLES;
let ch: ClickHouse;
let cleanup: () => Promise<void>;
let watermark: Watermark | null = { lsn: 1000n, commitTime: new Date(), updatedAt: new Date() };
let app: ReturnType<typeof readApp>;

const NASTY = 'it\'s \\ "quoted"; -- comment /* x */ ; DROP TABLE x; ünïcødé 😀 \t tab';
const ids = Array.from({ length: 25 }, (_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`);

beforeAll(async () => {
  ({ ch, cleanup } = await openTempClickHouse("read-abuse"));
  await createShopTables(ch, DB);
  await ch.command({ query: "CREATE DATABASE secret_db" });
  await ch.command({ query: "CREATE TABLE secret_db.secrets (s String) ENGINE = MergeTree ORDER BY s" });
  await ch.command({ query: "INSERT INTO secret_db.secrets VALUES ('TOPSECRET')" });
  const meta = (v: number, deleted = 0) => ({
    _version: v,
    _deleted: deleted,
    _commit_ts: "2024-03-01 00:00:00.000000",
    _lsn: v,
  });
  await ch.insert({
    table: `${DB}.${T.orders}`,
    format: "JSONEachRow",
    values: ids.map((id, i) => ({
      id,
      customer_id: ids[i % 5],
      status: ["placed", "paid", "shipped", "cancelled"][i % 4],
      total: `${(i + 1) * 10}.25`,
      placed_at: `2024-03-${String((i % 28) + 1).padStart(2, "0")} 12:00:00.000000`,
      updated_at: "2024-03-01 00:00:00.000000",
      version: 1,
      note: i === 0 ? NASTY : i % 2 ? null : `note ${i}`,
      ...meta(1),
    })),
  });
  // A newer version of order 2 and a deletion of order 3: FINAL must show only the newest, not the deleted.
  await ch.insert({
    table: `${DB}.${T.orders}`,
    format: "JSONEachRow",
    values: [
      {
        id: ids[1],
        customer_id: ids[1],
        status: "paid",
        total: "999.99",
        placed_at: "2024-03-02 12:00:00.000000",
        updated_at: "2024-03-02 00:00:00.000000",
        version: 2,
        note: null,
        ...meta(5),
      },
      {
        id: ids[2],
        customer_id: ids[2],
        status: "shipped",
        total: "30.25",
        placed_at: "2024-03-03 12:00:00.000000",
        updated_at: "2024-03-03 00:00:00.000000",
        version: 2,
        note: null,
        ...meta(6, 1),
      },
    ],
  });
  await ch.insert({
    table: `${DB}._sidecar_progress`,
    format: "JSONEachRow",
    values: [
      {
        table: "__watermark__",
        source: "",
        last_lsn: "4096",
        last_commit_ts: "2024-03-01 00:00:00.000000",
        updated_at: new Date().toISOString().replace("T", " ").replace("Z", ""),
      },
    ],
  });
  app = readApp(
    ch,
    DB,
    memoryFreshness(() => watermark),
    TOKEN,
  );
});

afterAll(async () => {
  await cleanup?.();
});

const auth = { authorization: `Bearer ${TOKEN}` };
async function get(path: string, headers: Record<string, string> = auth) {
  const res = await app.request(path, { headers });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text), headers: res.headers };
}
const q = (params: Record<string, string | string[]>) => {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) sp.append(k, x);
  return sp.toString();
};

/** Text that would mean ClickHouse internals or SQL reached the client. */
const LEAK =
  /DB::Exception|Code: \d|Syntax error|SELECT |FROM `|FINAL|system\.|UNKNOWN_|READONLY|CANNOT_PARSE|TIMEOUT_EXCEEDED|TOO_MANY|TOPSECRET|_sidecar_progress|stack|\bat \w+ \(/i;

/** 2xx/4xx and no leak; the request's own payload (echoed as a field name at most) is taken out before looking. */
function expectSafe(r: { status: number; text: string }, payload?: string) {
  expect(r.status === 200 || (r.status >= 400 && r.status < 500), `status ${r.status}: ${r.text}`).toBe(true);
  const own = payload ? JSON.stringify(payload).slice(1, -1) : "";
  const text = own ? r.text.split(own).join("") : r.text;
  expect(text, r.text).not.toMatch(LEAK);
}

const PAYLOADS = [
  "'",
  '"',
  "`",
  "\\",
  "x'; DROP TABLE shop__orders; --",
  "1; SELECT * FROM secret_db.secrets",
  "id) UNION ALL SELECT s FROM secret_db.secrets --",
  "/* comment */ id",
  "id -- comment",
  "ünïcødé 😀",
  "\u202eevil",
  "%00",
  "secret_db.secrets",
  "system.tables",
  "_version` FROM secret_db.secrets --",
  "{p0:String}",
  "-1",
  "99999999999999999999999",
  "1e309",
  "NaN",
  " ",
  "",
];

describe("read API abuse on a real ClickHouse", () => {
  test("happy path: FINAL view, internal columns hidden, numbers exact", async () => {
    const tables = (await get("/api/tables")).json();
    expect(tables.data.map((t: { name: string }) => t.name).sort()).toEqual(Object.values(T).sort());
    const orders = tables.data.find((t: { name: string }) => t.name === T.orders);
    expect(orders.columns.map((c: { name: string }) => c.name)).not.toContain("_version");
    expect(orders.primaryKey).toEqual(["id"]);
    const withInternal = (await get(`/api/tables/${T.orders}?internal=true`)).json();
    expect(withInternal.data.columns.map((c: { name: string }) => c.name)).toContain("_lsn");

    const count = (await get(`/api/tables/${T.orders}/count`)).json();
    expect(count.data.count).toBe(24); // 25 rows, one deleted
    const two = (await get(`/api/tables/${T.orders}/rows?${q({ filter: `id:eq:${ids[1]}` })}`)).json();
    expect(two.data).toEqual([expect.objectContaining({ id: ids[1], total: "999.99", version: 2 })]);
    expect(two.freshness).toMatchObject({ lsn: "0/3E8" });

    const agg = (
      await get(
        `/api/tables/${T.orders}/aggregate?${q({ metrics: "count,sum:total,min:total,max:placed_at", groupBy: "status", order: "status" })}`,
      )
    ).json();
    const expected = new Map<string, { count: number; sum: number }>();
    ids.forEach((_, i) => {
      if (i === 2) return;
      const status = i === 1 ? "paid" : (["placed", "paid", "shipped", "cancelled"][i % 4] as string);
      const total = i === 1 ? 999.99 : (i + 1) * 10 + 0.25;
      const e = expected.get(status) ?? { count: 0, sum: 0 };
      expected.set(status, { count: e.count + 1, sum: Math.round((e.sum + total) * 100) / 100 });
    });
    for (const row of agg.data) {
      expect(Number(row.count)).toBe(expected.get(row.status)?.count);
      expect(Number(row.sum_total)).toBeCloseTo(expected.get(row.status)?.sum ?? -1, 2);
    }
    expect(agg.data.map((r: { status: string }) => r.status)).toEqual(["cancelled", "paid", "placed", "shipped"]);
  });

  test("keyset pages cover every row exactly once, in order", async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 20; page++) {
      const r = (
        await get(
          `/api/tables/${T.orders}/rows?${q({ columns: "id,total", order: "total:desc", limit: "7", ...(after ? { after } : {}) })}`,
        )
      ).json();
      seen.push(...r.data.map((x: { id: string }) => x.id));
      if (!r.nextCursor) break;
      after = r.nextCursor;
    }
    const all = (
      await get(`/api/tables/${T.orders}/rows?${q({ columns: "id,total", order: "total:desc", limit: "100" })}`)
    ).json();
    expect(seen).toEqual(all.data.map((x: { id: string }) => x.id));
    expect(new Set(seen).size).toBe(24);
    const totals = all.data.map((x: { total: string }) => Number(x.total));
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
    // Offset pages agree with keyset pages.
    const off = (
      await get(`/api/tables/${T.orders}/rows?${q({ columns: "id", order: "total:desc", limit: "7", offset: "7" })}`)
    ).json();
    expect(off.data.map((x: { id: string }) => x.id)).toEqual(seen.slice(7, 14));
  });

  test("a value full of quotes, comments and unicode is bound, not parsed: it finds exactly its row", async () => {
    const r = await get(`/api/tables/${T.orders}/rows?${q({ columns: "id,note", filter: `note:eq:${NASTY}` })}`);
    expect(r.status).toBe(200);
    expect(r.json().data).toEqual([{ id: ids[0], note: NASTY }]);
    const inList = await get(`/api/tables/${T.orders}/count?${q({ filter: `note:in:${NASTY.replace(/,/g, "")},x` })}`);
    expect(inList.status).toBe(200);
    const nulls = (await get(`/api/tables/${T.orders}/count?${q({ filter: "note:null" })}`)).json();
    expect(nulls.data.count).toBe(12); // odd indexes 1..23 (order 2's new version is one of them, still null)
  });

  test("every parameter of the generic endpoints: payloads give 4xx or escaped 200, never a leak", async () => {
    const base = `/api/tables/${T.orders}`;
    const cases: [string, string][] = [];
    for (const p of PAYLOADS) {
      const e = encodeURIComponent(p);
      const paths = [
        `/api/tables/${e}`,
        `/api/tables/${e}/rows`,
        `/api/tables/${e}/count`,
        `/api/tables/${e}/aggregate`,
        `${base}/rows?columns=${e}`,
        `${base}/rows?columns=id,${e}`,
        `${base}/rows?${q({ filter: `${p}:eq:1` })}`,
        `${base}/rows?${q({ filter: `status:${p}:1` })}`,
        `${base}/rows?${q({ filter: `status:eq:${p}` })}`,
        `${base}/rows?${q({ filter: `total:gte:${p}` })}`,
        `${base}/rows?${q({ filter: `id:in:${p},${p}` })}`,
        `${base}/rows?${q({ filter: `placed_at:lt:${p}` })}`,
        `${base}/rows?${q({ filter: `version:eq:${p}` })}`,
        `${base}/rows?order=${e}`,
        `${base}/rows?order=total:${e}`,
        `${base}/rows?limit=${e}`,
        `${base}/rows?offset=${e}`,
        `${base}/rows?after=${e}`,
        `${base}/rows?internal=${e}`,
        `${base}/rows?${e}=1`,
        `${base}/aggregate?metrics=${e}`,
        `${base}/aggregate?metrics=sum:${e}`,
        `${base}/aggregate?groupBy=${e}`,
        `${base}/aggregate?order=${e}`,
        `${base}/count?${q({ filter: p })}`,
        `${base}/aggregate?groupBy=placed_at:${e}`,
        `${base}/aggregate?groupBy=${e}:day`,
        `${base}/aggregate?${q({ groupBy: "placed_at:day", filter: `placed_at:gte:${p}` })}`,
        `${base}/csv?columns=${e}`,
        `${base}/csv?order=${e}`,
        `${base}/csv?${q({ filter: `status:eq:${p}` })}`,
        `${base}/csv?${q({ filter: `${p}:eq:1` })}`,
        `/api/tables?stats=${e}`,
      ];
      for (const path of paths) cases.push([path, p]);
    }
    for (const [path, payload] of cases) {
      const r = await get(path);
      expectSafe(r, payload);
      if (r.status === 200 && r.headers.get("content-type")?.startsWith("application/json")) {
        // Only rows of the orders table (or the payload as a plain value) can come back.
        for (const row of r.json().data ?? []) expect(JSON.stringify(row)).not.toMatch(/TOPSECRET/);
      }
    }
    // Nothing was dropped or changed.
    expect((await get(`${base}/count`)).json().data.count).toBe(24);
  });

  test("absurd numbers and unknown names are 400 with field and reason", async () => {
    const base = `/api/tables/${T.orders}`;
    const expectField = async (path: string, field: string) => {
      const r = await get(path);
      expect(r.status, `${path}: ${r.text}`).toBe(400);
      expect(r.headers.get("content-type")).toMatch(/problem\+json/);
      expect(r.json().errors.map((e: { field: string }) => e.field)).toContain(field);
      expectSafe(r);
    };
    await expectField(`${base}/rows?limit=1000000000000`, "limit");
    await expectField(`${base}/rows?limit=501`, "limit");
    await expectField(`${base}/rows?limit=0`, "limit");
    await expectField(`${base}/rows?limit=1.5`, "limit");
    await expectField(`${base}/rows?offset=-1`, "offset");
    await expectField(`${base}/rows?offset=99999999999`, "offset");
    await expectField(`${base}/rows?limit=1&limit=2`, "limit");
    await expectField(`${base}/rows?columns=id,secret`, "columns");
    await expectField(`${base}/rows?${q({ filter: "secret:eq:1" })}`, "filter");
    await expectField(`${base}/rows?${q({ filter: ["status:eq:paid", "nope:eq:1"] })}`, "filter[1]");
    await expectField(`${base}/rows?${q({ filter: Array.from({ length: 21 }, () => "status:eq:paid") })}`, "filter");
    await expectField(
      `${base}/rows?${q({ filter: `id:in:${Array.from({ length: 101 }, () => ids[0]).join(",")}` })}`,
      "filter",
    );
    await expectField(`${base}/rows?${q({ filter: "version:eq:2147483648" })}`, "filter");
    await expectField(`${base}/rows?${q({ filter: "placed_at:gt:0001-01-01" })}`, "filter");
    await expectField(`${base}/rows?order=secret`, "order");
    await expectField(`${base}/rows?after=${encodeURIComponent("eyJ4IjoxfQ")}`, "after");
    await expectField(`${base}/aggregate?metrics=sum:status`, "metrics");
    await expectField(`${base}/aggregate?groupBy=a,b,c,d`, "groupBy");
    await expectField(`${base}/aggregate?groupBy=placed_at:minute`, "groupBy");
    await expectField(`${base}/aggregate?groupBy=status:day`, "groupBy");
    await expectField(`${base}/aggregate?groupBy=placed_at:day,updated_at:week`, "groupBy");
    await expectField(`${base}/csv?columns=id,secret`, "columns");
    await expectField(`${base}/csv?${q({ filter: "total:gte:abc" })}`, "filter");
    await expectField(`${base}/csv?limit=5`, "limit");
    await expectField("/api/tables?stats=yes", "stats");
    await expectField(`${base}/rows?sql=${encodeURIComponent("SELECT 1")}`, "sql");
  });

  test("a time series over four centuries of hours stops at limit (WITH FILL is bounded by it)", async () => {
    const r = await get(
      `/api/tables/${T.orders}/aggregate?${q({
        groupBy: "placed_at:hour",
        filter: ["placed_at:gte:1900-01-01", "placed_at:lt:2299-01-01"],
        limit: "500",
      })}`,
    );
    expect(r.status, r.text).toBe(200);
    const body = r.json();
    expect(body.data.length).toBe(500);
    expect(body.truncated).toBe(true);
    expect(body.data[0]).toEqual({ placed_at: "1900-01-01 00:00:00", count: "0" });
  });

  test("no other table is reachable: internal, other databases, system", async () => {
    for (const name of [
      "_sidecar_progress",
      "secret_db.secrets",
      "secrets",
      "system.tables",
      "tables",
      `${DB}.${T.orders}`,
      "..",
      "%2e%2e",
    ]) {
      for (const suffix of ["", "/rows", "/count", "/aggregate", "/csv"]) {
        const r = await get(`/api/tables/${encodeURIComponent(name)}${suffix}`);
        expect(r.status, `${name}${suffix}`).toBe(404);
        expectSafe(r);
      }
    }
  });

  test("dashboard parameters: payloads and huge ranges are 400, defaults work", async () => {
    const ok = await get("/api/dashboard/revenue?from=2024-03-01T00:00:00Z&to=2024-04-01T00:00:00Z&granularity=week");
    expect(ok.status).toBe(200);
    // The fixture's numbers: non-cancelled current orders, per ISO week (Monday) of their placed_at.
    const weeks = new Map<string, { revenue: number; orders: number }>();
    ids.forEach((_, i) => {
      if (i === 2) return; // deleted
      const status = i === 1 ? "paid" : ["placed", "paid", "shipped", "cancelled"][i % 4];
      if (status === "cancelled") return;
      const day = i === 1 ? 2 : (i % 28) + 1;
      const d = new Date(Date.UTC(2024, 2, day));
      const monday = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * 86_400_000).toISOString().replace(".000Z", "Z");
      const w = weeks.get(monday) ?? { revenue: 0, orders: 0 };
      weeks.set(monday, {
        revenue: Math.round((w.revenue + (i === 1 ? 999.99 : (i + 1) * 10 + 0.25)) * 100) / 100,
        orders: w.orders + 1,
      });
    });
    expect(ok.json().data).toEqual([...weeks.entries()].sort().map(([bucket, v]) => ({ bucket, ...v })));
    for (const p of PAYLOADS) {
      for (const path of [
        `/api/dashboard/revenue?from=${encodeURIComponent(p)}`,
        `/api/dashboard/revenue?to=${encodeURIComponent(p)}`,
        `/api/dashboard/revenue?granularity=${encodeURIComponent(p)}`,
        `/api/dashboard/revenue?statuses=${encodeURIComponent(p)}`,
        `/api/dashboard/customers?granularity=${encodeURIComponent(p)}`,
        `/api/dashboard/top-products?by=${encodeURIComponent(p)}`,
        `/api/dashboard/top-products?limit=${encodeURIComponent(p)}`,
        `/api/dashboard/low-stock?threshold=${encodeURIComponent(p)}`,
        `/api/dashboard/low-stock?limit=${encodeURIComponent(p)}`,
        `/api/dashboard/orders-by-status?${encodeURIComponent(p)}=1`,
      ]) {
        const r = await get(path);
        expectSafe(r, p);
        if (p !== "" && p !== " " && !/^(-1|99999999999999999999999|1e309|NaN)$/.test(p))
          expect(r.status, path).toBe(400);
      }
    }
    for (const path of [
      "/api/dashboard/revenue?from=1900-01-01T00:00:00Z&to=2299-01-01T00:00:00Z",
      "/api/dashboard/revenue?from=2024-01-01T00:00:00Z&to=2024-06-01T00:00:00Z&granularity=hour",
      "/api/dashboard/average-order-value?from=2024-05-01T00:00:00Z&to=2024-04-01T00:00:00Z",
      "/api/dashboard/low-stock?threshold=-1",
      "/api/dashboard/low-stock?limit=100000",
      "/api/dashboard/top-products?limit=0",
    ]) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expectSafe(r);
    }
  });

  test("bearer token required on /api/*, not on the page or ops endpoints", async () => {
    expect((await get("/api/tables", {})).status).toBe(401);
    expect((await get("/api/tables", { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await get("/api/tables", { authorization: `Basic ${TOKEN}` })).status).toBe(401);
    expect((await get("/api/dashboard/revenue", {})).status).toBe(401);
    for (const path of ["/health", "/", "/openapi.json", "/metrics"])
      expect((await get(path, {})).status, path).toBe(200);
    const spec = (await get("/openapi.json", {})).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(["/api/dashboard/revenue", "/api/tables/{table}/rows", "/api/tables/{table}/aggregate"]),
    );
    expect((await get("/metrics", {})).text).toMatch(/sidecar_read_http_requests_total/);
  });

  test("CORS: only configured origins, GET only, the consistency headers allowed", async () => {
    const open = readApp(
      ch,
      DB,
      memoryFreshness(() => watermark),
      TOKEN,
      {},
      ["https://dash.example"],
    );
    const preflight = await open.request("/api/tables", {
      method: "OPTIONS",
      headers: {
        origin: "https://dash.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization, x-consistency-token",
      },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://dash.example");
    expect(preflight.headers.get("access-control-allow-methods")).toMatch(/GET/);
    expect(preflight.headers.get("access-control-allow-methods")).not.toMatch(/POST|DELETE/);
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toMatch(/x-consistency-token/);
    const other = await open.request("/api/tables", { headers: { ...auth, origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const off = await app.request("/api/tables", { headers: { ...auth, origin: "https://dash.example" } });
    expect(off.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("consistency token: waits for the watermark, else 503 + Retry-After; malformed is 400", async () => {
    const behind = await get("/api/tables", { ...auth, "X-Consistency-Token": "0/1001" });
    expect(behind.status).toBe(503);
    expect(behind.headers.get("retry-after")).toBe("1");
    expect(behind.json()).toMatchObject({ title: "Projection Behind", token: "0/1001", freshness: { lsn: "0/3E8" } });
    expect(behind.text).not.toMatch(/"data"/);

    setTimeout(() => {
      watermark = { lsn: 0x1001n, commitTime: new Date(), updatedAt: new Date() };
    }, 100);
    const served = await get(`/api/tables/${T.orders}/count`, { ...auth, "X-Consistency-Token": "0/1001" });
    expect(served.status).toBe(200);
    expect(served.json().freshness).toMatchObject({ lsn: "0/1001", token: "0/1001" });
    expect(served.json().freshness.waitedMs).toBeGreaterThanOrEqual(50);

    for (const bad of ["x", "0/", "1/2/3", "'; --", "0/GGGG"]) {
      const r = await get("/api/tables", { ...auth, "X-Consistency-Token": bad });
      expect(r.status, bad).toBe(400);
      expect(r.json().errors[0].field).toBe("X-Consistency-Token");
    }
  });

  test("ClickHouse failures become our own problems: bad value type, time limit, too many rows", async () => {
    const run = createQueryRunner(ch, { maxExecutionSeconds: 0.3, maxResultRows: 10, readonly: true });
    const fail = async (sql: string, params: Record<string, unknown> = {}) => {
      try {
        await run(sql, params);
      } catch (err) {
        return err as ApiError;
      }
      throw new Error("expected a failure");
    };
    const bad = await fail("SELECT 1 WHERE {p:UUID} = {p:UUID}", { p: "not-a-uuid" });
    expect(bad).toBeInstanceOf(ApiError);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.toProblem())).not.toMatch(LEAK);
    const slow = await fail("SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 1");
    expect(slow.status).toBe(503);
    expect(slow.title).toBe("Query Too Slow");
    const big = await fail("SELECT number FROM numbers(100)");
    expect(big.status).toBe(422);
    const write = await fail(`INSERT INTO ${DB}.${T.orders} (id) SELECT generateUUIDv4()`);
    expect(write.status).toBe(503);
    // The guard binds its own queries only: the shared client (the projector's, with embedded
    // ClickHouse) can still write and read large results afterwards.
    await ch.command({ query: `CREATE TABLE ${DB}.after_reads (n UInt64) ENGINE = MergeTree ORDER BY n` });
    await ch.command({ query: `INSERT INTO ${DB}.after_reads SELECT number FROM numbers(1000)` });
    expect(await queryRows(ch, `SELECT n FROM ${DB}.after_reads`)).toHaveLength(1000);
    await ch.command({ query: `DROP TABLE ${DB}.after_reads` });
    expect((await get(`/api/tables/${T.orders}/count`)).json().data.count).toBe(24);
    expect(JSON.stringify(write.toProblem()), JSON.stringify(write.toProblem())).not.toMatch(LEAK);
  });

  test("freshness from the progress table (read API in its own process) and /ready", async () => {
    const source = progressTableFreshness(ch, DB, { pollMs: 0 });
    const w = await source.watermark();
    expect(w?.lsn).toBe(4096n);
    expect(w?.commitTime?.toISOString()).toBe("2024-03-01T00:00:00.000Z");
    // Per table: a table's own row when it is ahead of the global one, else the global row.
    const row = (table: string, lsn: string) => ({
      table,
      source: "",
      last_lsn: lsn,
      last_commit_ts: "2024-03-01 00:00:01.000000",
      updated_at: new Date().toISOString().replace("T", " ").replace("Z", ""),
    });
    await ch.insert({
      table: `${DB}._sidecar_progress`,
      format: "JSONEachRow",
      values: [row(`__watermark__:${T.orders}`, "8192"), row(`__watermark__:${T.products}`, "100")],
    });
    expect((await source.watermarkFor?.([T.orders]))?.lsn).toBe(8192n);
    expect((await source.watermarkFor?.([T.products]))?.lsn).toBe(4096n); // behind the global row
    expect((await source.watermarkFor?.([T.customers]))?.lsn).toBe(4096n); // no row of its own
    expect((await source.watermarkFor?.([T.orders, T.customers]))?.lsn).toBe(4096n);
    const viaApi = readApp(ch, DB, source, TOKEN);
    const ordersRead = await viaApi.request(`/api/tables/${T.orders}/count`, {
      headers: { ...auth, "x-consistency-token": "0/2000" },
    });
    expect(ordersRead.status).toBe(200);
    expect((await ordersRead.json()).freshness.lsn).toBe("0/2000");
    const listRead = await viaApi.request("/api/tables", { headers: { ...auth, "x-consistency-token": "0/2000" } });
    expect(listRead.status).toBe(503); // the table list waits for the global watermark (0/1000)
    const fresh = readApp(ch, DB, source, TOKEN);
    const ready = await fresh.request("/ready");
    expect(ready.status).toBe(200);
    const strict = readApp(ch, DB, source, TOKEN, { readyMaxLagMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    const notReady = await strict.request("/ready");
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get("retry-after")).toBe("2");
    const none = readApp(
      ch,
      DB,
      memoryFreshness(() => null),
      TOKEN,
    );
    expect((await none.request("/ready")).status).toBe(503);
    const noToken = await none.request(`/api/tables/${T.orders}/count`, { headers: auth });
    expect((await noToken.json()).freshness).toEqual({ lsn: null, commitTime: null, lagMs: null });
  });
});
