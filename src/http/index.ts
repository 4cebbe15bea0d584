export { bearerAuth, type BearerAuthOptions } from "./auth.js";
export { bodyLimit, type BodyLimitOptions } from "./body-limit.js";
export { cors, type CorsOptions } from "./cors.js";
export { createErrorHandler, createNotFoundHandler, type ErrorHandlerOptions } from "./error-handler.js";
export { httpMetrics, UNMATCHED_ROUTE, type HttpMetricsOptions } from "./metrics.js";
export {
  ApiError,
  isApiError,
  PROBLEM_CONTENT_TYPE,
  reasonPhrase,
  type FieldError,
  type ProblemDocument,
  type ProblemInit,
} from "./problem.js";
export { requestId, type RequestIdOptions, type RequestIdVariables } from "./request-id.js";
export { formatPath, issuesToFieldErrors, validationError, validationHook } from "./validation.js";
