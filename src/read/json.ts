import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";

/**
 * JSON of the read API's answers, with negative zero kept. ClickHouse writes a Float64/Float32
 * -0 as `-0` and JSON.parse keeps it, but JSON.stringify(-0) is "0": a float8 -0 in Postgres
 * would read back as 0. JSON has the number `-0`, so the answer carries it.
 */

/** Stands in for -0 during JSON.stringify; the per-process nonce keeps it apart from any stored text. */
const NEGATIVE_ZERO = `\u0000-0:${randomUUID()}`;
const NEGATIVE_ZERO_JSON = JSON.stringify(NEGATIVE_ZERO);

/** JSON.stringify, except that -0 is written `-0` (anywhere in the value). */
export function stringifyJson(value: unknown): string {
  let found = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v === 0 && Object.is(v, -0)) {
      found = true;
      return NEGATIVE_ZERO;
    }
    return v;
  });
  return found ? text.replaceAll(NEGATIVE_ZERO_JSON, "-0") : text;
}

/**
 * Makes `c.json` of every route after it serialise with stringifyJson: the one place the read
 * API turns an answer into JSON text. Status and headers are as `c.json` sets them.
 */
export function exactJson(): MiddlewareHandler {
  return async function exactJsonMiddleware(c, next) {
    const json = (object: unknown, arg?: unknown, headers?: Record<string, string | string[]>): Response =>
      c.body(stringifyJson(object), arg as never, { "Content-Type": "application/json", ...headers });
    c.json = json as unknown as typeof c.json;
    await next();
  };
}
