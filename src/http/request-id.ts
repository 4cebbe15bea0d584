import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";

export interface RequestIdOptions {
  /** Header read from the request and set on the response. Default `X-Request-Id`. */
  headerName?: string;
  /** Incoming ids must match this (else a new one is made), so a log line cannot be forged. Default: 1–128 of `[A-Za-z0-9._:-]`. */
  accept?: RegExp;
  /** Makes a new id. Default `crypto.randomUUID`. */
  generate?: () => string;
}

export type RequestIdVariables = { requestId: string };

/** Gives every request an id (`c.get("requestId")`), echoed in the response header and in problem documents. */
export function requestId({
  headerName = "X-Request-Id",
  accept = /^[A-Za-z0-9._:-]{1,128}$/,
  generate = randomUUID,
}: RequestIdOptions = {}): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header(headerName);
    const id = incoming && accept.test(incoming) ? incoming : generate();
    c.set("requestId", id);
    await next();
    c.header(headerName, id);
  };
}
