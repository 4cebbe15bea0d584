import { z } from "@hono/zod-openapi";
import { ApiError } from "../../http/problem.js";
import type { CatalogLoader, TableInfo } from "../catalog.js";
import { type Filter, LIMITS, parseFilter } from "../sql.js";
import { problemResponses } from "./common.js";

/** Parameters and helpers the /api/tables/{table}/… routes share. */

export const tableParam = z.object({
  table: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "table", in: "path" }, example: "orders" }),
});

export const filterParam = z
  .union([z.string().max(10_000), z.array(z.string().max(10_000)).max(LIMITS.maxFilters)])
  .optional()
  .openapi({
    description:
      "Repeatable. column:op:value with op one of eq, ne, lt, lte, gt, gte, in (comma separated values), null, notnull (no value). " +
      "Example: filter=status:eq:paid&filter=total:gte:100",
  });

export const orderParam = z
  .string()
  .max(2_000)
  .optional()
  .openapi({ description: "col[:asc|desc], comma separated", example: "placed_at:desc" });

export const columnsParam = z
  .string()
  .max(20_000)
  .optional()
  .openapi({ description: "Comma separated columns; default all (internal ones only with internal=true)" });

export const boolText = z.enum(["true", "false"]).default("false");

export function filtersOf(raw: string | string[] | undefined): Filter[] {
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.map((f, i) => parseFilter(f, list.length > 1 ? `filter[${i}]` : "filter"));
}

export async function tableOr404(catalog: CatalogLoader, name: string): Promise<TableInfo> {
  const t = await catalog.table(name);
  if (!t)
    throw new ApiError({
      status: 404,
      detail: "no projected table by that name",
      errors: [{ field: "table", reason: "unknown table" }],
    });
  return t;
}

export const notFoundResponse = {
  404: { description: "No projected table by that name", content: problemResponses[400].content },
} as const;
