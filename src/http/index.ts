export { type BearerAuthOptions, bearerAuth } from "./auth.js";
export { type BodyLimitOptions, bodyLimit } from "./body-limit.js";
export { type CorsOptions, cors } from "./cors.js";
export { createErrorHandler, createNotFoundHandler, type ErrorHandlerOptions } from "./error-handler.js";
export {
  assertSafeExposure,
  type Exposure,
  exposureProblem,
  isLoopbackHost,
  readApiExposure,
  writeApiExposure,
} from "./exposure.js";
export { type HttpMetricsOptions, httpMetrics, UNMATCHED_ROUTE } from "./metrics.js";
export {
  ApiError,
  type FieldError,
  isApiError,
  PROBLEM_CONTENT_TYPE,
  type ProblemDocument,
  type ProblemInit,
  reasonPhrase,
} from "./problem.js";
export { type RequestIdOptions, type RequestIdVariables, requestId } from "./request-id.js";
export { API_CSP, PAGE_CSP, type SecurityHeadersOptions, securityHeaders } from "./security-headers.js";
export { formatPath, issuesToFieldErrors, validationError, validationHook } from "./validation.js";
