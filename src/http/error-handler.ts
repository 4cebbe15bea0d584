import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "../shared/logger.js";
import { ApiError } from "./problem.js";

export interface ErrorHandlerOptions {
  log: Logger;
  /**
   * Turns errors of a lower layer (e.g. a database driver) into an ApiError; return
   * undefined to leave the error alone. Keeps this module free of driver knowledge.
   */
  translate?: (err: unknown) => ApiError | undefined;
}

function fromHttpException(err: HTTPException): ApiError {
  if (err.status === 400 && /malformed json/i.test(err.message)) {
    return new ApiError({
      status: 400,
      title: "Malformed JSON",
      detail: "the request body is not valid JSON",
      errors: [{ field: "(body)", reason: "malformed JSON" }],
    });
  }
  if (err.status === 415) {
    return new ApiError({
      status: 415,
      detail: "send the request body as application/json",
      errors: [{ field: "content-type", reason: "must be application/json" }],
    });
  }
  return new ApiError({ status: err.status, detail: err.message || undefined });
}

function requestIdOf(c: Context): string | undefined {
  const id = c.get("requestId" as never) as unknown;
  return typeof id === "string" ? id : undefined;
}

/** The one error handler (`app.onError`): every error leaves as a problem+json answer. */
export function createErrorHandler({ log, translate }: ErrorHandlerOptions): ErrorHandler {
  return async function handleError(err, c) {
    const requestId = requestIdOf(c);
    let apiError: ApiError | undefined;
    if (err instanceof ApiError) apiError = err;
    else if (err instanceof HTTPException) apiError = fromHttpException(err);
    else apiError = translate?.(err);

    if (!apiError) {
      log.error({ err, requestId, method: c.req.method, path: c.req.path }, "unhandled error");
      apiError = new ApiError({ status: 500, detail: "unexpected error; the request id identifies it in the logs" });
    } else if (apiError.status >= 500) {
      log.warn(
        {
          requestId,
          method: c.req.method,
          path: c.req.path,
          status: apiError.status,
          cause: String(apiError.cause ?? ""),
        },
        apiError.message,
      );
    }
    return apiError.getResponse(requestId);
  };
}

/** 404 problem for paths no route matches. */
export function createNotFoundHandler(): NotFoundHandler {
  return async function handleNotFound(c) {
    return new ApiError({ status: 404, detail: `no route for ${c.req.method} ${c.req.path}` }).getResponse(
      requestIdOf(c),
    );
  };
}
