import { z } from "@hono/zod-openapi";

/** Schemas shared by the write API's routes. Request bodies are strict: unknown fields are a 400. */
export const Uuid = z.uuid();

export const IdParams = z.object({
  id: z.uuid().openapi({ param: { name: "id", in: "path" }, example: "6f1c2e1a-8a52-4d9e-9a57-2f2f4b0f3c11" }),
});

/** Money as a decimal string with at most 2 decimals and 10 integer digits (Postgres numeric(12,2)). */
export const Money = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$/, 'must be a decimal string like "19.99" (0 to 9999999999.99)')
  .openapi({ example: "19.99" });

/** Optional headers of every command. */
export const CommandHeaders = z.object({
  "idempotency-key": z
    .string()
    .regex(/^"?[\x21\x23-\x7e]{1,200}"?$/, "must be 1-200 visible ASCII characters")
    .optional()
    .openapi({
      description: "Retrying with the same key returns the first answer and writes nothing more.",
      example: "b7f0c5d2-6e1d-4f5b-9a0e-1c9d2f3e4a5b",
    }),
  "if-match": z
    .string()
    .regex(/^(\*|(W\/)?"?[0-9]{1,9}"?)$/, 'must be an ETag like "3" (the version you read) or *')
    .optional()
    .openapi({
      description: "Version you read (the ETag); a stale one is a 409.",
      example: '"1"',
    }),
});

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ field: z.string(), reason: z.string() })),
    requestId: z.string().optional(),
  })
  .passthrough()
  .openapi("Problem");

const ConsistencyToken = z.string().openapi({
  description: "Postgres WAL LSN (X/Y hex) read right after COMMIT; also in the X-Consistency-Token header.",
  example: "0/1A2B3C4",
});

export function withToken<T extends z.ZodRawShape>(shape: T) {
  return z.object({ ...shape, consistencyToken: ConsistencyToken });
}

function problemResponses(statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: PROBLEM_DESCRIPTIONS[s] ?? "problem",
        content: { "application/problem+json": { schema: Problem } },
      },
    ]),
  );
}

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: "validation failed (each field and reason in errors[])",
  401: "missing or wrong bearer token",
  404: "no such resource",
  409: "conflict: stale version, illegal transition, insufficient stock, duplicate, in use",
  413: "request body too large",
  415: "request body is not application/json",
  422: "unknown referenced resource, out-of-range result, or Idempotency-Key reused for another request",
  503: "database unavailable; retry after Retry-After seconds",
};

export const COMMAND_ERRORS = problemResponses([400, 401, 404, 409, 413, 415, 422, 503]);

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } };
}

export function jsonResponse<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { "application/json": { schema } } };
}
