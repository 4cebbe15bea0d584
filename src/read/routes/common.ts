import { z } from "@hono/zod-openapi";
import type { RequestIdVariables } from "../../http/request-id.js";
import type { FreshnessBlock } from "../freshness.js";

export type ReadVariables = RequestIdVariables & { freshness: FreshnessBlock };
export type ReadEnv = { Variables: ReadVariables };

export const freshnessSchema = z
  .object({
    lsn: z
      .string()
      .nullable()
      .openapi({ description: "Watermark WAL position (X/Y): every change below it is in the answer" }),
    commitTime: z
      .string()
      .nullable()
      .openapi({ description: "Last source commit time the projection includes (ISO 8601)" }),
    lagMs: z.number().nullable().openapi({ description: "now − commitTime in ms" }),
    token: z.string().optional().openapi({ description: "The X-Consistency-Token this read waited for" }),
    waitedMs: z.number().optional(),
    degraded: z
      .array(z.object({ table: z.string(), reason: z.string(), since: z.string() }))
      .optional()
      .openapi({
        description:
          "Tables of this answer marked degraded: an event of theirs was set aside, so their rows may differ from the source until `cqrs-sidecar repair` runs",
      }),
  })
  .openapi("Freshness");

const problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    detail: z.string(),
    errors: z.array(z.object({ field: z.string(), reason: z.string() })),
    requestId: z.string().optional(),
  })
  .openapi("Problem");

const problemContent = { "application/problem+json": { schema: problem } };

export const problemResponses = {
  400: { description: "A parameter did not validate (field and reason in errors)", content: problemContent },
  401: { description: "Missing or wrong bearer token", content: problemContent },
  503: {
    description:
      "The projection has not reached the X-Consistency-Token within the wait (Retry-After), or ClickHouse is unavailable",
    content: problemContent,
  },
} as const;
