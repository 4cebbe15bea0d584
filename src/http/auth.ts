import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./problem.js";

export interface BearerAuthOptions {
  /** The expected token. Required and non-empty; the app decides whether to install auth at all. */
  token: string;
  /** Realm named in `WWW-Authenticate`. Default `cqrs-sidecar`. */
  realm?: string;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * `Authorization: Bearer <token>` guard. The comparison is constant-time: both sides are
 * hashed to equal-length SHA-256 digests and compared with `crypto.timingSafeEqual`, so
 * neither the content nor the length of the token leaks through timing. The token is
 * never logged or echoed.
 */
export function bearerAuth({ token, realm = "cqrs-sidecar" }: BearerAuthOptions): MiddlewareHandler {
  if (!token) throw new Error("bearerAuth: token must be a non-empty string");
  const expected = digest(token);
  return async function bearerAuthMiddleware(c, next) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
    if (!match) {
      throw new ApiError({
        status: 401,
        detail: "missing bearer token: send Authorization: Bearer <token>",
        headers: { "WWW-Authenticate": `Bearer realm="${realm}"` },
      });
    }
    if (!timingSafeEqual(digest(match[1] ?? ""), expected)) {
      throw new ApiError({
        status: 401,
        detail: "invalid bearer token",
        headers: { "WWW-Authenticate": `Bearer realm="${realm}", error="invalid_token"` },
      });
    }
    await next();
  };
}
