/**
 * One error type that knows its HTTP answer: an RFC 7807 problem document
 * (`application/problem+json`). Every 4xx/5xx of the HTTP APIs is one of these, so a
 * client parses one shape: `{ type, title, status, detail, errors: [{ field, reason }] }`.
 */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** One rejected input: `field` is a dotted path into the input (`lines[0].quantity`), a header or a parameter name. */
export interface FieldError {
  field: string;
  reason: string;
}

export interface ProblemInit {
  /** HTTP status code of the answer. */
  status: number;
  /** Short kind of problem, stable per `type`. Default: the reason phrase of `status`. */
  title?: string;
  /** What went wrong this time, for humans. */
  detail?: string;
  /** URI naming the problem kind. Default: `urn:cqrs-sidecar:problem:<slug of title>`. */
  type?: string;
  /** Field-level reasons; always present in the answer (empty when none). */
  errors?: FieldError[];
  /** Extra response headers (Retry-After, WWW-Authenticate, …). */
  headers?: Record<string, string>;
  /** Extension members added to the problem document (e.g. `currentStatus`). */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

const REASON_PHRASES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  428: "Precondition Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? (status >= 500 ? "Server Error" : "Client Error");
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors: FieldError[];
  requestId?: string;
  [extension: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly type: string;
  readonly errors: FieldError[];
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(init: ProblemInit) {
    const title = init.title ?? reasonPhrase(init.status);
    super(init.detail ?? title, { cause: init.cause });
    this.name = "ApiError";
    this.status = init.status;
    this.title = title;
    this.type = init.type ?? `urn:cqrs-sidecar:problem:${slug(title)}`;
    this.errors = init.errors ?? [];
    this.headers = init.headers ?? {};
    this.extensions = init.extensions ?? {};
  }

  toProblem(requestId?: string): ProblemDocument {
    return {
      ...this.extensions,
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.message,
      errors: this.errors,
      ...(requestId ? { requestId } : {}),
    };
  }

  /** The answer to send: problem+json with this error's status and headers. */
  getResponse(requestId?: string): Response {
    return new Response(JSON.stringify(this.toProblem(requestId)), {
      status: this.status,
      headers: { ...this.headers, "content-type": PROBLEM_CONTENT_TYPE },
    });
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}
