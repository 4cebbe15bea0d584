import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

type CspOptions = NonNullable<NonNullable<Parameters<typeof secureHeaders>[0]>["contentSecurityPolicy"]>;

/** JSON answers: a browser that renders one may load nothing, run nothing, and frame it nowhere. */
export const API_CSP: CspOptions = {
  defaultSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
};

/**
 * The read API's page: scripts, styles, fetches and images from its own origin only. No
 * 'unsafe-inline': the page's script and stylesheet are files the read API serves.
 */
export const PAGE_CSP: CspOptions = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:"],
  fontSrc: ["'self'"],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  objectSrc: ["'none'"],
  frameAncestors: ["'none'"],
};

export interface SecurityHeadersOptions {
  /** Content-Security-Policy. Default API_CSP; the read API (which serves the page) uses PAGE_CSP. */
  csp?: CspOptions;
}

/**
 * The usual security headers on every answer, errors included (hono/secure-headers):
 * the CSP, `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`, `Referrer-Policy:
 * no-referrer`, same-origin CORP/COOP. No Strict-Transport-Security: the roles speak plain
 * HTTP, and whether a domain pins HTTPS is the TLS proxy's decision.
 */
export function securityHeaders({ csp = API_CSP }: SecurityHeadersOptions = {}): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: csp,
    xFrameOptions: "DENY",
    strictTransportSecurity: false,
  });
}
