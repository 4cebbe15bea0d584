import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../../http/problem.js";
import type { CatalogLoader } from "../catalog.js";
import {
  averageOrderValueSql,
  count,
  customersSql,
  type DashboardLimits,
  DEFAULT_REVENUE_STATUSES,
  type DomainTables,
  dashboardSchemas,
  lowStockSql,
  type MoneyExpr,
  money,
  moneyExprFor,
  ordersByStatusSql,
  resolveRange,
  revenueSql,
  topProductsSql,
} from "../dashboard.js";
import type { RunQuery } from "../query.js";
import { freshnessSchema, problemResponses, type ReadEnv } from "./common.js";

export interface DashboardRouteDeps {
  database: string;
  tables: DomainTables;
  catalog: CatalogLoader;
  run: RunQuery;
  limits: DashboardLimits;
}

const answer = (data: z.ZodType, description: string) => ({
  200: {
    description,
    content: {
      "application/json": {
        schema: z.object({
          data,
          range: z.object({ from: z.string(), to: z.string() }).optional(),
          freshness: freshnessSchema,
        }),
      },
    },
  },
  ...problemResponses,
});

/** Dashboard endpoints of the demo shop under /api/dashboard/*. */
export function registerDashboardRoutes(app: OpenAPIHono<ReadEnv>, deps: DashboardRouteDeps): void {
  const { database, tables, run } = deps;
  const s = dashboardSchemas(deps.limits);

  /**
   * The domain tables must exist before a dashboard query can run; answers the money expression
   * for their columns (a cast only where the projection did not make a Decimal).
   */
  async function ensureTables(...names: string[]): Promise<MoneyExpr> {
    const decimals = new Set<string>();
    for (const n of names) {
      const t = await deps.catalog.table(n);
      if (!t) {
        throw new ApiError({
          status: 503,
          title: "Projection Not Ready",
          detail: "the projection has not created the tables this dashboard reads yet",
          headers: { "Retry-After": "2" },
        });
      }
      for (const c of t.columns) if (c.scalar.family === "decimal") decimals.add(c.name);
    }
    return moneyExprFor(decimals);
  }
  const rangeOut = (r: { from: Date; to: Date }) => ({ from: r.from.toISOString(), to: r.to.toISOString() });

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/dashboard/revenue",
      tags: ["dashboard"],
      summary: "Revenue and order count per hour/day/week bucket",
      security: [{ bearer: [] }],
      request: { query: s.revenue },
      responses: answer(
        z.array(z.object({ bucket: z.string(), revenue: z.number(), orders: z.number() })),
        "One row per bucket that has orders",
      ),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const moneyExpr = await ensureTables(tables.orders);
      const r = resolveRange(q.from, q.to);
      const { sql, params } = revenueSql(
        database,
        tables,
        r,
        q.granularity,
        q.statuses ?? DEFAULT_REVENUE_STATUSES,
        moneyExpr,
      );
      const rows = await run<{ bucket: string; revenue: unknown; orders: unknown }>(sql, params);
      const data = rows.map((x) => ({ bucket: x.bucket, revenue: money(x.revenue), orders: count(x.orders) }));
      return c.json({ data, range: rangeOut(r), granularity: q.granularity, freshness: c.get("freshness") }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/dashboard/orders-by-status",
      tags: ["dashboard"],
      summary: "Orders and their total per status",
      security: [{ bearer: [] }],
      request: { query: s.ordersByStatus },
      responses: answer(
        z.array(z.object({ status: z.string(), orders: z.number(), revenue: z.number() })),
        "One row per status present",
      ),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const moneyExpr = await ensureTables(tables.orders);
      const r = resolveRange(q.from, q.to);
      const { sql, params } = ordersByStatusSql(database, tables, r, moneyExpr);
      const rows = await run<{ status: string; orders: unknown; revenue: unknown }>(sql, params);
      const data = rows.map((x) => ({ status: x.status, orders: count(x.orders), revenue: money(x.revenue) }));
      return c.json({ data, range: rangeOut(r), freshness: c.get("freshness") }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/dashboard/top-products",
      tags: ["dashboard"],
      summary: "Top products by revenue or by units sold",
      security: [{ bearer: [] }],
      request: { query: s.topProducts },
      responses: answer(
        z.array(
          z.object({
            productId: z.string(),
            sku: z.string(),
            name: z.string(),
            units: z.number(),
            revenue: z.number(),
          }),
        ),
        "Products, best first",
      ),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const moneyExpr = await ensureTables(tables.orders, tables.orderLines, tables.products);
      const r = resolveRange(q.from, q.to);
      const { sql, params } = topProductsSql(
        database,
        tables,
        r,
        q.statuses ?? DEFAULT_REVENUE_STATUSES,
        q.by,
        q.limit,
        moneyExpr,
      );
      const rows = await run<{ productId: string; sku: string; name: string; units: unknown; revenue: unknown }>(
        sql,
        params,
      );
      const data = rows.map((x) => ({
        productId: x.productId,
        sku: x.sku,
        name: x.name,
        units: count(x.units),
        revenue: money(x.revenue),
      }));
      return c.json({ data, range: rangeOut(r), by: q.by, freshness: c.get("freshness") }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/dashboard/average-order-value",
      tags: ["dashboard"],
      summary: "Average order value (revenue / orders)",
      security: [{ bearer: [] }],
      request: { query: s.averageOrderValue },
      responses: answer(
        z.object({ orders: z.number(), revenue: z.number(), averageOrderValue: z.number().nullable() }),
        "Totals over the range",
      ),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const moneyExpr = await ensureTables(tables.orders);
      const r = resolveRange(q.from, q.to);
      const { sql, params } = averageOrderValueSql(
        database,
        tables,
        r,
        q.statuses ?? DEFAULT_REVENUE_STATUSES,
        moneyExpr,
      );
      const [row] = await run<{ orders: unknown; revenue: unknown }>(sql, params);
      const orders = row ? count(row.orders) : 0;
      const revenue = row ? money(row.revenue) : 0;
      const data = { orders, revenue, averageOrderValue: orders ? Math.round((revenue / orders) * 100) / 100 : null };
      return c.json({ data, range: rangeOut(r), freshness: c.get("freshness") }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/dashboard/customers",
      tags: ["dashboard"],
      summary: "New vs returning customers per bucket",
      description:
        "A customer ordering in a bucket is new there if their first order (among the statuses) falls in that bucket, else returning.",
      security: [{ bearer: [] }],
      request: { query: s.customers },
      responses: answer(
        z.array(z.object({ bucket: z.string(), newCustomers: z.number(), returningCustomers: z.number() })),
        "One row per bucket",
      ),
    }),
    async (c) => {
      const q = c.req.valid("query");
      await ensureTables(tables.orders);
      const r = resolveRange(q.from, q.to);
      const { sql, params } = customersSql(database, tables, r, q.granularity, q.statuses ?? DEFAULT_REVENUE_STATUSES);
      const rows = await run<{ bucket: string; newCustomers: unknown; returningCustomers: unknown }>(sql, params);
      const data = rows.map((x) => ({
        bucket: x.bucket,
        newCustomers: count(x.newCustomers),
        returningCustomers: count(x.returningCustomers),
      }));
      return c.json({ data, range: rangeOut(r), granularity: q.granularity, freshness: c.get("freshness") }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/dashboard/low-stock",
      tags: ["dashboard"],
      summary: "Products with stock below a threshold, lowest first",
      security: [{ bearer: [] }],
      request: { query: s.lowStock },
      responses: answer(
        z.array(
          z.object({ productId: z.string(), sku: z.string(), name: z.string(), stock: z.number(), price: z.number() }),
        ),
        "Products below the threshold",
      ),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const moneyExpr = await ensureTables(tables.products);
      const { sql, params } = lowStockSql(database, tables, q.threshold, q.limit, moneyExpr);
      const rows = await run<{ productId: string; sku: string; name: string; stock: unknown; price: unknown }>(
        sql,
        params,
      );
      const data = rows.map((x) => ({
        productId: x.productId,
        sku: x.sku,
        name: x.name,
        stock: count(x.stock),
        price: money(x.price),
      }));
      return c.json({ data, threshold: q.threshold, freshness: c.get("freshness") }, 200);
    },
  );
}

/** The projected tables each dashboard endpoint reads: a token read waits for their topics only. */
export function dashboardTablesRead(tables: DomainTables): Record<string, string[]> {
  return {
    "/api/dashboard/revenue": [tables.orders],
    "/api/dashboard/orders-by-status": [tables.orders],
    "/api/dashboard/top-products": [tables.orders, tables.orderLines, tables.products],
    "/api/dashboard/average-order-value": [tables.orders],
    "/api/dashboard/customers": [tables.orders],
    "/api/dashboard/low-stock": [tables.products],
  };
}
