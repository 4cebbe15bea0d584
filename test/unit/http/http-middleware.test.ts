import { Hono } from "hono";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ApiError,
  bearerAuth,
  bodyLimit,
  cors,
  createErrorHandler,
  createNotFoundHandler,
  formatPath,
  httpMetrics,
  issuesToFieldErrors,
  requestId,
  validationHook,
} from "../../../src/http/index.js";
import { createLogger } from "../../../src/shared/logger.js";

const log = createLogger("silent");

function appWith(...mw: Parameters<Hono["use"]>[1][]) {
  const app = new Hono();
  app.onError(createErrorHandler({ log }));
  app.notFound(createNotFoundHandler());
  app.use("*", requestId());
  for (const m of mw) app.use("*", m);
  app.post("/things/:id", async (c) => c.json({ ok: true, id: c.req.param("id"), body: await c.req.text() }));
  app.get("/boom", () => {
    throw new Error("secret internals");
  });
  return app;
}

describe("ApiError", () => {
  it("answers RFC 7807 problem+json with status, headers and extensions", async () => {
    const res = new ApiError({
      status: 409,
      detail: "nope",
      errors: [{ field: "a", reason: "b" }],
      headers: { "Retry-After": "3" },
      extensions: { currentStatus: "paid" },
    }).getResponse("rid-1");
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("retry-after")).toBe("3");
    expect(await res.json()).toEqual({
      type: "urn:cqrs-sidecar:problem:conflict",
      title: "Conflict",
      status: 409,
      detail: "nope",
      errors: [{ field: "a", reason: "b" }],
      currentStatus: "paid",
      requestId: "rid-1",
    });
  });

  it("extensions cannot overwrite the standard members", () => {
    const p = new ApiError({ status: 400, extensions: { status: 200, title: "x" } }).toProblem();
    expect(p.status).toBe(400);
    expect(p.title).toBe("Bad Request");
  });
});

describe("error handler", () => {
  it("turns an unknown error into a 500 problem without leaking its message", async () => {
    const res = await appWith().request("/boom");
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("secret internals");
    expect(JSON.parse(text).requestId).toBe(res.headers.get("x-request-id"));
  });

  it("uses translate for driver errors", async () => {
    const app = new Hono();
    app.onError(
      createErrorHandler({
        log,
        translate: (e) => ((e as Error).message === "db" ? new ApiError({ status: 503 }) : undefined),
      }),
    );
    app.get("/", () => {
      throw new Error("db");
    });
    expect((await app.request("/")).status).toBe(503);
  });

  it("answers unknown paths with a 404 problem", async () => {
    const res = await appWith().request("/nowhere");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("validation", () => {
  it("formats paths as dotted fields with indexes", () => {
    expect(formatPath(["lines", 0, "quantity"])).toBe("lines[0].quantity");
    expect(formatPath([])).toBe("");
  });

  it("gives one entry per unknown key and per failed field", () => {
    const schema = z.strictObject({ a: z.number(), b: z.array(z.strictObject({ c: z.string() })) });
    const r = schema.safeParse({ a: "x", b: [{ c: 1, d: 2 }], e: 3 });
    expect(r.success).toBe(false);
    const errors = issuesToFieldErrors(r.error?.issues ?? []);
    expect(errors.map((e) => e.field).sort()).toEqual(["a", "b[0].c", "b[0].d", "e"]);
    expect(errors.find((e) => e.field === "e")?.reason).toBe("unknown field");
  });

  it("the hook throws a 400 ApiError for a failed parse and passes a good one", () => {
    const bad = z.object({ a: z.number() }).safeParse({});
    expect(() =>
      validationHook({ success: false, error: bad.error as z.ZodError, target: "json" }, {} as never),
    ).toThrow(ApiError);
    try {
      validationHook({ success: false, error: bad.error as z.ZodError, target: "json" }, {} as never);
    } catch (e) {
      expect((e as ApiError).status).toBe(400);
      expect((e as ApiError).errors[0]?.field).toBe("a");
    }
    expect(() => validationHook({ success: true, data: {} }, {} as never)).not.toThrow();
  });
});

describe("bearerAuth", () => {
  const app = appWith(bearerAuth({ token: "s3cret-token" }));
  const post = (authorization?: string) =>
    app.request("/things/1", { method: "POST", headers: authorization ? { authorization } : {}, body: "x" });

  it("lets the right token through", async () => {
    expect((await post("Bearer s3cret-token")).status).toBe(200);
    expect((await post("bearer s3cret-token")).status).toBe(200);
  });

  it("refuses missing, wrong, longer, shorter and non-bearer credentials with 401 + WWW-Authenticate", async () => {
    for (const a of [
      undefined,
      "Bearer nope",
      "Bearer s3cret-token-and-more",
      "Bearer s3cret",
      "Basic s3cret-token",
      "Bearer ",
    ]) {
      const res = await post(a);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
      expect(await res.text()).not.toContain("s3cret");
    }
  });

  it("refuses to be built without a token", () => {
    expect(() => bearerAuth({ token: "" })).toThrow();
  });
});

describe("bodyLimit", () => {
  it("answers 413 over the limit, passes at the limit", async () => {
    const app = appWith(bodyLimit({ maxBytes: 10 }));
    expect((await app.request("/things/1", { method: "POST", body: "x".repeat(11) })).status).toBe(413);
    const ok = await app.request("/things/1", { method: "POST", body: "x".repeat(10) });
    expect(ok.status).toBe(200);
    expect((await ok.json()).body).toBe("x".repeat(10));
  });
});

describe("requestId", () => {
  it("keeps a well-formed incoming id and replaces a malformed one", async () => {
    const app = appWith();
    expect(
      (await app.request("/nowhere", { headers: { "x-request-id": "abc-123" } })).headers.get("x-request-id"),
    ).toBe("abc-123");
    const replaced = (await app.request("/nowhere", { headers: { "x-request-id": "bad id with spaces" } })).headers.get(
      "x-request-id",
    );
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("cors", () => {
  it("is off without origins: no CORS headers", async () => {
    const res = await appWith(cors()).request("/things/1", {
      method: "POST",
      headers: { origin: "https://evil.example" },
      body: "",
    });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows only the configured origins", async () => {
    const app = appWith(cors({ origins: ["https://shop.example"] }));
    const ok = await app.request("/things/1", {
      method: "OPTIONS",
      headers: { origin: "https://shop.example", "access-control-request-method": "POST" },
    });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://shop.example");
    const other = await app.request("/things/1", {
      method: "POST",
      headers: { origin: "https://evil.example" },
      body: "",
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("httpMetrics", () => {
  it("counts by route pattern (not raw path) and status, and observes latency", async () => {
    const registry = new Registry();
    const app = appWith(httpMetrics({ registry, prefix: "t_" }));
    await app.request("/things/1", { method: "POST", body: "" });
    await app.request("/things/2", { method: "POST", body: "" });
    await app.request("/random/path/123");
    const text = await registry.metrics();
    expect(text).toContain('t_http_requests_total{method="POST",route="/things/:id",status="200"} 2');
    expect(text).toContain('t_http_requests_total{method="GET",route="(unmatched)",status="404"} 1');
    expect(text).toContain('t_http_request_duration_seconds_count{method="POST",route="/things/:id",status="200"} 2');
    expect(text).not.toContain("/things/1");
  });

  it("two apps on one registry share the series instead of throwing", () => {
    const registry = new Registry();
    httpMetrics({ registry, prefix: "t_" });
    expect(() => httpMetrics({ registry, prefix: "t_" })).not.toThrow();
  });
});
