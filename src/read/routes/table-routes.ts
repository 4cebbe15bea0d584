import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { CatalogLoader, TableInfo } from "../catalog.js";
import {
  degradedAmong,
  type FreshnessBlock,
  type FreshnessSource,
  freshnessBlock,
  watermarkOf,
  withDegraded,
} from "../freshness.js";
import type { RunQuery } from "../query.js";
import {
  aggregateAnswer,
  buildAggregate,
  buildCount,
  buildSelect,
  encodeCursor,
  LIMITS,
  parseMetrics,
  parseOrder,
  splitList,
} from "../sql.js";
import { freshnessSchema, problemResponses, type ReadEnv } from "./common.js";
import { registerCsvRoute } from "./table-csv.js";
import {
  boolText,
  columnsParam,
  filterParam,
  filtersOf,
  tableOr404 as findTable,
  notFoundResponse,
  orderParam,
  tableParam,
} from "./table-params.js";

export interface TableRouteDeps {
  database: string;
  catalog: CatalogLoader;
  run: RunQuery;
  maxRows: number;
  /** Per-table watermarks for `GET /api/tables?stats=true`; without it, no per-table freshness. */
  freshness?: FreshnessSource;
}

/** How many tables' counts run at once for `stats=true` (each is one FINAL scan). */
const STATS_CONCURRENCY = 4;

const ok = (schema: z.ZodType, description: string) => ({
  200: { description, content: { "application/json": { schema } } },
  ...notFoundResponse,
  ...problemResponses,
});

const columnOut = z.object({ name: z.string(), type: z.string(), internal: z.boolean().optional() });

/** Generic reads of any projected table under /api/tables/*: the way into an attached legacy database. */
export function registerTableRoutes(app: OpenAPIHono<ReadEnv>, deps: TableRouteDeps): void {
  const { database, catalog, run, maxRows } = deps;

  const tableOr404 = (name: string) => findTable(catalog, name);

  /** Current rows (null when the count failed, e.g. ran past the time limit) and the table's own freshness. */
  async function stats(t: TableInfo): Promise<{ rows: number | null; freshness: FreshnessBlock | null }> {
    const built = buildCount(database, t, []);
    const rows = await run<{ count: unknown }>(built.sql, built.params).then(
      (r) => Number(r[0]?.count ?? 0),
      () => null,
    );
    const freshness = deps.freshness
      ? withDegraded(
          freshnessBlock(await watermarkOf(deps.freshness, [t.name])),
          await degradedAmong(deps.freshness, [t.name]),
        )
      : null;
    return { rows, freshness };
  }
  async function allStats(tables: TableInfo[]) {
    const out: Awaited<ReturnType<typeof stats>>[] = [];
    for (let i = 0; i < tables.length; i += STATS_CONCURRENCY)
      out.push(...(await Promise.all(tables.slice(i, i + STATS_CONCURRENCY).map(stats))));
    return out;
  }
  const columnsOf = (t: TableInfo, internal: boolean) =>
    t.columns
      .filter((c) => internal || !c.internal)
      .map((c) => ({ name: c.name, type: c.type, ...(internal ? { internal: c.internal } : {}) }));

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/tables",
      tags: ["tables"],
      summary: "Projected tables and their columns",
      security: [{ bearer: [] }],
      request: {
        query: z
          .object({
            internal: boolText.openapi({
              description: "Include the projector's _version/_deleted/_lsn/_commit_ts columns",
            }),
            stats: boolText.openapi({
              description: "Add each table's current row count (rows; null if counting failed) and its own freshness",
            }),
          })
          .strict(),
      },
      responses: ok(
        z.object({
          data: z.array(
            z.object({
              name: z.string(),
              primaryKey: z.array(z.string()),
              columns: z.array(columnOut),
              rows: z.number().nullable().optional(),
              freshness: freshnessSchema.nullable().optional(),
              degraded: z
                .object({ reason: z.string(), since: z.string() })
                .optional()
                .openapi({ description: "Set while the table is degraded (an event set aside; run repair)" }),
            }),
          ),
          maxRows: z
            .number()
            .openapi({ description: "READ_MAX_ROWS: the largest limit, and the most rows of a CSV export" }),
          freshness: freshnessSchema,
        }),
        "Tables of the projection database (internal tables hidden)",
      ),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const internal = q.internal === "true";
      const tables = [...(await catalog.get()).tables.values()];
      const extra = q.stats === "true" ? await allStats(tables) : [];
      const marks = new Map(
        (deps.freshness ? await degradedAmong(deps.freshness) : []).map((d) => [d.table, d] as const),
      );
      const data = tables.map((t, i) => {
        const mark = marks.get(t.name);
        return {
          name: t.name,
          primaryKey: t.sortingKey,
          columns: columnsOf(t, internal),
          ...extra[i],
          ...(mark ? { degraded: { reason: mark.reason, since: mark.since } } : {}),
        };
      });
      return c.json({ data, maxRows, freshness: c.get("freshness") }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/tables/{table}",
      tags: ["tables"],
      summary: "One table's columns",
      security: [{ bearer: [] }],
      request: { params: tableParam, query: z.object({ internal: boolText }).strict() },
      responses: ok(
        z.object({
          data: z.object({ name: z.string(), primaryKey: z.array(z.string()), columns: z.array(columnOut) }),
          freshness: freshnessSchema,
        }),
        "The table",
      ),
    }),
    async (c) => {
      const t = await tableOr404(c.req.valid("param").table);
      const internal = c.req.valid("query").internal === "true";
      return c.json(
        {
          data: { name: t.name, primaryKey: t.sortingKey, columns: columnsOf(t, internal) },
          freshness: c.get("freshness"),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/tables/{table}/rows",
      tags: ["tables"],
      summary: "Rows: projection, filters, order, offset or keyset pages",
      description:
        "Current rows (FINAL, deleted rows excluded). 64-bit integers and decimals are JSON strings (exact). " +
        "Order defaults to the primary key; the primary key is appended as a tie breaker so pages are stable. " +
        "When more rows follow, nextCursor is set: pass it as after= with the same order and filters.",
      security: [{ bearer: [] }],
      request: {
        params: tableParam,
        query: z
          .object({
            columns: columnsParam,
            filter: filterParam,
            order: orderParam,
            limit: z.coerce.number().int().min(1).max(maxRows).default(100),
            offset: z.coerce.number().int().min(0).max(LIMITS.maxOffset).default(0),
            after: z
              .string()
              .max(8_192)
              .optional()
              .openapi({ description: "Keyset cursor: nextCursor of the previous page" }),
            internal: boolText,
          })
          .strict(),
      },
      responses: ok(
        z.object({
          data: z.array(z.record(z.string(), z.unknown())),
          columns: z.array(z.string()),
          nextCursor: z.string().nullable(),
          freshness: freshnessSchema,
        }),
        "A page of rows",
      ),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const t = await tableOr404(c.req.valid("param").table);
      const built = buildSelect(
        database,
        t,
        {
          columns: splitList(q.columns),
          filters: filtersOf(q.filter),
          order: q.order ? parseOrder(q.order) : [],
          limit: q.limit,
          offset: q.offset,
          after: q.after,
          includeInternal: q.internal === "true",
        },
        maxRows,
      );
      const rows = await run<Record<string, unknown>>(built.sql, built.params);
      const more = rows.length > q.limit;
      const page = more ? rows.slice(0, q.limit) : rows;
      const last = page[page.length - 1];
      const keyNames = built.keyOrder.map((_, i) => `${built.keyAlias}${i}`);
      // No cursor when a key value is NULL (keyset paging over nullable columns is refused; offset works).
      const keyValues = last ? keyNames.map((k) => last[k]) : [];
      const nextCursor =
        more && keyValues.length && keyValues.every((v) => typeof v === "string")
          ? encodeCursor(keyValues as string[])
          : null;
      const data = page.map((r) => Object.fromEntries(built.columns.map((col) => [col, r[col]])));
      return c.json({ data, columns: built.columns, nextCursor, freshness: c.get("freshness") }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/tables/{table}/count",
      tags: ["tables"],
      summary: "Number of current rows matching the filters",
      security: [{ bearer: [] }],
      request: { params: tableParam, query: z.object({ filter: filterParam }).strict() },
      responses: ok(z.object({ data: z.object({ count: z.number() }), freshness: freshnessSchema }), "The count"),
    }),
    async (c) => {
      const t = await tableOr404(c.req.valid("param").table);
      const built = buildCount(database, t, filtersOf(c.req.valid("query").filter));
      const [row] = await run<{ count: unknown }>(built.sql, built.params);
      return c.json({ data: { count: Number(row?.count ?? 0) }, freshness: c.get("freshness") }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/tables/{table}/aggregate",
      tags: ["tables"],
      summary: "count / sum / avg / min / max, optionally grouped by up to three columns, or by time buckets",
      description:
        "Each metric is named fn or fn_column in the answer (count, sum_total, …). Sums of decimals and 64-bit integers are exact JSON strings. " +
        "sum/avg of a String column take its values as decimal text (Postgres numeric without precision, money): the sum exact, with Postgres' scale, " +
        "NaN/Infinity/-Infinity as Postgres adds them; 400 when a value is no number, 422 when one is wider than 36 digits before the point or 30 after. " +
        "groupBy=col:hour|day|week|month puts a date or date-time column into UTC buckets (weeks start Monday; rows whose column is NULL are left out); " +
        "ordered by time (no order, or that column ascending) the series has every bucket between the filters on that column " +
        "(else between the first and last bucket with rows): count and sum 0, avg/min/max null where no row falls.",
      security: [{ bearer: [] }],
      request: {
        params: tableParam,
        query: z
          .object({
            metrics: z
              .string()
              .max(2_000)
              .default("count")
              .openapi({ description: "fn[:column], comma separated", example: "count,sum:total,avg:total" }),
            groupBy: z.string().max(1_000).optional().openapi({
              description: "Comma separated columns; col:hour|day|week|month for time buckets",
              example: "placed_at:day",
            }),
            filter: filterParam,
            order: z
              .string()
              .max(2_000)
              .optional()
              .openapi({ description: "groupBy columns or metric names, col[:asc|desc]", example: "sum_total:desc" }),
            limit: z.coerce.number().int().min(1).max(maxRows).default(100),
          })
          .strict(),
      },
      responses: ok(
        z.object({
          data: z.array(z.record(z.string(), z.unknown())),
          truncated: z.boolean(),
          series: z
            .object({ column: z.string(), bucket: z.string(), filled: z.boolean() })
            .optional()
            .openapi({ description: "The time-bucketed group, when groupBy has one" }),
          freshness: freshnessSchema,
        }),
        "One row per group",
      ),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const t = await tableOr404(c.req.valid("param").table);
      const built = buildAggregate(
        database,
        t,
        {
          metrics: parseMetrics(q.metrics),
          groupBy: splitList(q.groupBy) ?? [],
          filters: filtersOf(q.filter),
          order: q.order ? parseOrder(q.order) : [],
          limit: q.limit,
        },
        maxRows,
      );
      const rows = await run<Record<string, unknown>>(built.sql, built.params, built.settings);
      const truncated = rows.length > q.limit;
      const data = aggregateAnswer(built, truncated ? rows.slice(0, q.limit) : rows);
      return c.json({ data, truncated, series: built.series, freshness: c.get("freshness") }, 200);
    },
  );

  registerCsvRoute(app, deps);
}
