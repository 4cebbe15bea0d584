import type { Context } from "hono";
import type { z } from "zod";
import { ApiError, type FieldError } from "./problem.js";

/** `["lines", 0, "quantity"]` → `lines[0].quantity`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** zod issues → one `{ field, reason }` per problem; unknown keys get one entry each. */
export function issuesToFieldErrors(issues: ReadonlyArray<z.core.$ZodIssue>): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        errors.push({ field: formatPath([...issue.path, key]), reason: "unknown field" });
      }
      continue;
    }
    const field = formatPath(issue.path);
    errors.push({ field: field || "(body)", reason: issue.message });
  }
  return errors;
}

const TARGET_NAMES: Record<string, string> = {
  json: "request body",
  param: "path parameters",
  query: "query parameters",
  header: "request headers",
};

/** The 400 every validation failure becomes. */
export function validationError(issues: ReadonlyArray<z.core.$ZodIssue>, target?: string): ApiError {
  const where = (target && TARGET_NAMES[target]) ?? "request";
  return new ApiError({
    status: 400,
    title: "Validation Failed",
    detail: `the ${where} did not validate`,
    errors: issuesToFieldErrors(issues),
  });
}

type HookResult =
  | { success: true; data: unknown; target?: string }
  | { success: false; error: z.ZodError; target?: string };

/**
 * The one validation hook (`defaultHook` of OpenAPIHono, or the hook of zValidator):
 * a failed parse becomes the same 400 problem everywhere.
 */
export function validationHook(result: HookResult, _c: Context): void {
  if (!result.success) throw validationError(result.error.issues, result.target);
}
