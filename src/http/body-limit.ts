import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { ApiError } from "./problem.js";

export interface BodyLimitOptions {
  /** Largest accepted request body in bytes (declared Content-Length or streamed). Default 64 KiB. */
  maxBytes?: number;
}

/** Bodies over `maxBytes` get a 413 problem before anything parses them. */
export function bodyLimit({ maxBytes = 64 * 1024 }: BodyLimitOptions = {}): MiddlewareHandler {
  return honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError({ status: 413, detail: `request body is larger than ${maxBytes} bytes` });
    },
  });
}
