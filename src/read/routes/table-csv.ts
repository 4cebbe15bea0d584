import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { CatalogLoader } from "../catalog.js";
import { csvLine, truncatedLine } from "../csv.js";
import type { FreshnessBlock } from "../freshness.js";
import type { RunQuery } from "../query.js";
import { buildSelect, parseOrder, splitList } from "../sql.js";
import { problemResponses, type ReadEnv } from "./common.js";
import {
  boolText,
  columnsParam,
  filterParam,
  filtersOf,
  notFoundResponse,
  orderParam,
  tableOr404,
  tableParam,
} from "./table-params.js";

export interface CsvRouteDeps {
  database: string;
  catalog: CatalogLoader;
  run: RunQuery;
  maxRows: number;
}

/** Header naming the most rows an export holds (READ_MAX_ROWS). */
export const ROW_CAP_HEADER = "X-Row-Cap";

/** The freshness block as headers: a CSV body has no room for it. */
export function freshnessHeaders(f: FreshnessBlock): Record<string, string> {
  return {
    "X-Freshness-Lsn": f.lsn ?? "",
    "X-Freshness-Commit-Time": f.commitTime ?? "",
    "X-Freshness-Lag-Ms": f.lagMs === null ? "" : String(f.lagMs),
    ...(f.token ? { "X-Freshness-Token": f.token } : {}),
  };
}

/** Header line, at most `cap` rows, then the truncation line if a row past the cap exists. */
export function csvStream(
  columns: string[],
  rows: AsyncGenerator<Record<string, unknown>>,
  cap: number,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let sent = -1; // the header line first
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent < 0) {
        sent = 0;
        controller.enqueue(encoder.encode(csvLine(columns)));
        return;
      }
      const next = await rows.next().catch((err: unknown) => {
        controller.error(err);
        return undefined;
      });
      if (!next) return;
      if (next.done) return controller.close();
      if (sent === cap) {
        controller.enqueue(encoder.encode(truncatedLine(cap)));
        controller.close();
        await rows.return(undefined);
        return;
      }
      sent++;
      const row = next.value;
      controller.enqueue(encoder.encode(csvLine(columns.map((c) => row[c]))));
    },
    async cancel() {
      await rows.return(undefined);
    },
  });
}

/** GET /api/tables/{table}/csv: the rows of the current filter and order as a streamed CSV file. */
export function registerCsvRoute(app: OpenAPIHono<ReadEnv>, deps: CsvRouteDeps): void {
  const { database, catalog, run, maxRows } = deps;
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/tables/{table}/csv",
      tags: ["tables"],
      summary: "The rows matching the filters as CSV (streamed, at most READ_MAX_ROWS)",
      description:
        `Same columns, filter, order and internal parameters as /rows. The header ${ROW_CAP_HEADER} names the cap; ` +
        'when more rows match, the file\'s last line is `# truncated: …`. NULL is an empty field, an empty string "" ' +
        "(as Postgres COPY … CSV writes them). Freshness comes as X-Freshness-Lsn, X-Freshness-Commit-Time, X-Freshness-Lag-Ms.",
      security: [{ bearer: [] }],
      request: {
        params: tableParam,
        query: z.object({ columns: columnsParam, filter: filterParam, order: orderParam, internal: boolText }).strict(),
      },
      responses: {
        200: { description: "CSV with a header line", content: { "text/csv": { schema: z.string() } } },
        ...notFoundResponse,
        ...problemResponses,
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const t = await tableOr404(catalog, c.req.valid("param").table);
      const built = buildSelect(
        database,
        t,
        {
          columns: splitList(q.columns),
          filters: filtersOf(q.filter),
          order: q.order ? parseOrder(q.order) : [],
          limit: maxRows,
          offset: 0,
          includeInternal: q.internal === "true",
        },
        maxRows,
      );
      const rows = await run.stream(built.sql, built.params);
      const file = `${t.name.replace(/[^A-Za-z0-9_.-]/g, "_")}.csv`;
      return c.body(csvStream(built.columns, rows, maxRows), 200, {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="${file}"`,
        "cache-control": "no-store",
        [ROW_CAP_HEADER]: String(maxRows),
        ...freshnessHeaders(c.get("freshness")),
      }) as never;
    },
  );
}
