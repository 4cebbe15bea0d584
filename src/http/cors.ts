import type { MiddlewareHandler } from "hono";
import { cors as honoCors } from "hono/cors";

export interface CorsOptions {
  /** Allowed origins. Empty (the default) means CORS is off: no CORS headers at all. */
  origins?: string[];
  /** Request headers a browser may send. */
  allowHeaders?: string[];
  /** Response headers a browser script may read. */
  exposeHeaders?: string[];
  /** Default: GET, POST, PUT, PATCH, DELETE, OPTIONS. */
  allowMethods?: string[];
}

/** CORS for the listed origins only; a no-op middleware when none are configured. */
export function cors({
  origins = [],
  allowHeaders = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "X-Request-Id",
    "X-Consistency-Token",
  ],
  exposeHeaders = ["ETag", "X-Consistency-Token", "X-Request-Id", "Retry-After", "Idempotent-Replayed"],
  allowMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
}: CorsOptions = {}): MiddlewareHandler {
  if (origins.length === 0) {
    return async function corsOff(_c, next) {
      await next();
    };
  }
  return honoCors({ origin: origins, allowHeaders, exposeHeaders, allowMethods, maxAge: 600 });
}
