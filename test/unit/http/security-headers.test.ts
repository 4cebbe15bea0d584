import { Hono } from "hono";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { bearerAuth } from "../../../src/http/auth.js";
import { createErrorHandler, createNotFoundHandler } from "../../../src/http/error-handler.js";
import { PAGE_CSP, securityHeaders } from "../../../src/http/security-headers.js";
import { loadConfig } from "../../../src/shared/config.js";
import { createLogger } from "../../../src/shared/logger.js";
import { createPgPool } from "../../../src/shared/postgres.js";
import { createWriteApp } from "../../../src/write/app.js";

const log = createLogger("silent");

function expectSecurityHeaders(res: Response) {
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("x-frame-options")).toBe("DENY");
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  expect(res.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/);
  expect(res.headers.get("strict-transport-security")).toBeNull(); // plain HTTP: HSTS is the TLS proxy's call
}

describe("securityHeaders", () => {
  const app = new Hono();
  app.onError(createErrorHandler({ log }));
  app.notFound(createNotFoundHandler());
  app.use("*", securityHeaders());
  app.use("/private/*", bearerAuth({ token: "t" }));
  app.get("/ok", (c) => c.json({ ok: true }));
  app.get("/private/x", (c) => c.json({ ok: true }));
  app.get("/boom", () => {
    throw new Error("internals");
  });

  it("an API answer may load nothing and be framed nowhere", async () => {
    const res = await app.request("/ok");
    expectSecurityHeaders(res);
    expect(res.headers.get("content-security-policy")).toMatch(/^default-src 'none'/);
  });

  it("errors carry them too: 401, 404, 500", async () => {
    for (const [path, status] of [
      ["/private/x", 401],
      ["/nowhere", 404],
      ["/boom", 500],
    ] as const) {
      const res = await app.request(path);
      expect(res.status).toBe(status);
      expectSecurityHeaders(res);
    }
  });

  it("the page policy allows the page's own script, styles and fetches, nothing inline", async () => {
    const page = new Hono();
    page.use("*", securityHeaders({ csp: PAGE_CSP }));
    page.get("/", (c) => c.html("<!doctype html>"));
    const csp = (await page.request("/")).headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src 'self'(;|$)/);
    expect(csp).toMatch(/connect-src 'self'(;|$)/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });
});

describe("the write API sends them", () => {
  // A pool that is never connected to: /health and a refused command never reach Postgres.
  const pool = createPgPool("postgres://x:y@127.0.0.1:1/none", { max: 1 });
  const app = createWriteApp({
    pool,
    config: loadConfig({ API_TOKEN: "write-token" }),
    log,
    registry: new Registry(),
  });

  it("on /health and on a command without the token", async () => {
    expectSecurityHeaders(await app.request("/health"));
    const refused = await app.request("/customers", { method: "POST", body: "{}" });
    expect(refused.status).toBe(401);
    expectSecurityHeaders(refused);
  });
});
