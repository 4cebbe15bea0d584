import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../../http/problem.js";
import type { CatalogLoader, TableInfo } from "../catalog.js";
import type { RunQuery } from "../query.js";
import {
  buildAggregate,
  buildCount,
  buildSelect,
  encodeCursor,
  type Filter,
  LIMITS,
  parseFilter,
  parseMetrics,
  parseOrder,
  splitList,
} from "../sql.js";
import { freshnessSchema, problemResponses, type ReadEnv } from "./common.js";

export interface TableRouteDeps {
  database: string;
  catalog: CatalogLoader;
  run: RunQuery;
  maxRows: number;
}

const tableParam = z.object({
  table: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "table", in: "path" }, example: "orders" }),
});

const filterParam = z
  .union([z.string().max(10_000), z.array(z.string().max(10_000)).max(LIMITS.maxFilters)])
  .optional()
  .openapi({
    description:
      "Repeatable. column:op:value with op one of eq, ne, lt, lte, gt, gte, in (comma separated values), null, notnull (no value). " +
      "Example: filter=status:eq:paid&filter=total:gte:100",
  });

const boolText = z.enum(["true", "false"]).default("false");

function filtersOf(raw: string | string[] | undefined): Filter[] {
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.map((f, i) => parseFilter(f, list.length > 1 ? `filter[${i}]` : "filter"));
}

const ok = (schema: z.ZodType, description: string) => ({
  200: { description, content: { "application/json": { schema } } },
  404: { description: "No such projected table", content: problemResponses[400].content },
  ...problemResponses,
});

const columnOut = z.object({ name: z.string(), type: z.string(), internal: z.boolean().optional() });

/** Generic reads of any projected table under /api/tables/*: the way into an attached legacy database. */
export function registerTableRoutes(app: OpenAPIHono<ReadEnv>, deps: TableRouteDeps): void {
  const { database, catalog, run, maxRows } = deps;

  async function tableOr404(name: string): Promise<TableInfo> {
    const t = await catalog.table(name);
    if (!t)
      throw new ApiError({
        status: 404,
        detail: "no projected table by that name",
        errors: [{ field: "table", reason: "unknown table" }],
      });
    return t;
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
          })
          .strict(),
      },
      responses: ok(
        z.object({
          data: z.array(z.object({ name: z.string(), primaryKey: z.array(z.string()), columns: z.array(columnOut) })),
          freshness: freshnessSchema,
        }),
        "Tables of the projection database (internal tables hidden)",
      ),
    }),
    async (c) => {
      const internal = c.req.valid("query").internal === "true";
      const cat = await catalog.get();
      const data = [...cat.tables.values()].map((t) => ({
        name: t.name,
        primaryKey: t.sortingKey,
        columns: columnsOf(t, internal),
      }));
      return c.json({ data, freshness: c.get("freshness") }, 200);
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
            columns: z
              .string()
              .max(20_000)
              .optional()
              .openapi({ description: "Comma separated columns; default all (internal ones only with internal=true)" }),
            filter: filterParam,
            order: z
              .string()
              .max(2_000)
              .optional()
              .openapi({ description: "col[:asc|desc], comma separated", example: "placed_at:desc" }),
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
      summary: "count / sum / avg / min / max, optionally grouped by up to three columns",
      description:
        "Each metric is named fn or fn_column in the answer (count, sum_total, …). Sums of decimals and 64-bit integers are exact JSON strings.",
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
            groupBy: z
              .string()
              .max(1_000)
              .optional()
              .openapi({ description: "Comma separated columns", example: "status" }),
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
      const rows = await run<Record<string, unknown>>(built.sql, built.params);
      const truncated = rows.length > q.limit;
      return c.json({ data: truncated ? rows.slice(0, q.limit) : rows, truncated, freshness: c.get("freshness") }, 200);
    },
  );
}
