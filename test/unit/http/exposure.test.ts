import { describe, expect, it } from "vitest";
import { assertSafeExposure, exposureProblem, isLoopbackHost, writeApiExposure } from "../../../src/http/exposure.js";
import { roleExposures, runRoles } from "../../../src/main/run.js";
import { startReadApi } from "../../../src/read/app.js";
import { ConfigError, loadConfig } from "../../../src/shared/config.js";
import { createLogger } from "../../../src/shared/logger.js";
import { startWriteApi } from "../../../src/write/server.js";

const log = createLogger("silent");

async function refusal(p: Promise<unknown>): Promise<ConfigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe("isLoopbackHost", () => {
  it.each(["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]", "::ffff:127.0.0.1", " LOCALHOST "])(
    "%s is loopback",
    (h) => expect(isLoopbackHost(h)).toBe(true),
  );
  it.each(["0.0.0.0", "::", "[::]", "192.168.1.10", "10.0.0.1", "example.com", "128.0.0.1", "::ffff:10.0.0.1"])(
    "%s is the network",
    (h) => expect(isLoopbackHost(h)).toBe(false),
  );
});

describe("exposureProblem", () => {
  it("names the host variable, the token variable and both fixes", () => {
    const problem = exposureProblem(writeApiExposure({ API_TOKEN: "" }, "0.0.0.0"));
    expect(problem).toMatch(/^WRITE_API_HOST=0\.0\.0\.0 is not a loopback address and API_TOKEN is empty/);
    expect(problem).toMatch(/Set API_TOKEN/);
    expect(problem).toMatch(/WRITE_API_HOST=127\.0\.0\.1/);
  });

  it("allows loopback without a token, and the network with one", () => {
    expect(exposureProblem(writeApiExposure({ API_TOKEN: "" }, "127.0.0.1"))).toBeUndefined();
    expect(exposureProblem(writeApiExposure({ API_TOKEN: "s3cret" }, "0.0.0.0"))).toBeUndefined();
    expect(() => assertSafeExposure(writeApiExposure({ API_TOKEN: "" }, "::1"))).not.toThrow();
  });
});

describe("roles off loopback without a token refuse to start", () => {
  it("by default every listener is on 127.0.0.1, and nothing is refused", () => {
    const c = loadConfig({});
    expect([c.WRITE_API_HOST, c.READ_API_HOST, c.PROJECTOR_METRICS_HOST]).toEqual([
      "127.0.0.1",
      "127.0.0.1",
      "127.0.0.1",
    ]);
    expect(roleExposures(c, ["write", "project", "read"]).map((e) => e.host)).toEqual(["127.0.0.1", "127.0.0.1"]);
  });

  it("runRoles: the write role on 0.0.0.0 without API_TOKEN, before anything starts", async () => {
    const config = loadConfig({ WRITE_API_HOST: "0.0.0.0", DATABASE_URL: "postgres://x:y@127.0.0.1:1/none" });
    const err = await refusal(runRoles(config, ["write"], log));
    expect(err.issues).toHaveLength(1);
    expect(err.message).toMatch(/WRITE_API_HOST=0\.0\.0\.0 .* API_TOKEN is empty/);
  });

  it("runRoles: the read role on a LAN address without READ_API_TOKEN", async () => {
    const config = loadConfig({ READ_API_HOST: "192.168.1.10", CLICKHOUSE_URL: "http://127.0.0.1:1" });
    const err = await refusal(runRoles(config, ["read"], log));
    expect(err.message).toMatch(/READ_API_HOST=192\.168\.1\.10 .* READ_API_TOKEN is empty/);
  });

  it("runRoles: every offending role is named in one message", async () => {
    const config = loadConfig({ WRITE_API_HOST: "::", READ_API_HOST: "0.0.0.0", API_TOKEN: "", READ_API_TOKEN: "" });
    const err = await refusal(runRoles(config, ["write", "project", "read"], log));
    expect(err.issues.map((i) => i.split("=")[0])).toEqual(["WRITE_API_HOST", "READ_API_HOST"]);
  });

  it("a token makes a non-loopback host acceptable; the projector's port needs none", () => {
    const config = loadConfig({
      WRITE_API_HOST: "0.0.0.0",
      READ_API_HOST: "0.0.0.0",
      PROJECTOR_METRICS_HOST: "0.0.0.0",
      API_TOKEN: "w",
      READ_API_TOKEN: "r",
    });
    expect(() => assertSafeExposure(...roleExposures(config, ["write", "project", "read"]))).not.toThrow();
    expect(roleExposures(loadConfig({ PROJECTOR_METRICS_HOST: "0.0.0.0" }), ["project"])).toEqual([]);
  });

  it("startWriteApi and startReadApi refuse a non-loopback hostname without a token", async () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://x:y@127.0.0.1:1/none",
      CLICKHOUSE_URL: "http://127.0.0.1:1",
    });
    expect((await refusal(startWriteApi(config, { hostname: "0.0.0.0", port: 0, log }))).message).toMatch(
      /WRITE_API_HOST=0\.0\.0\.0/,
    );
    expect((await refusal(startReadApi(config, { hostname: "0.0.0.0", port: 0, log }))).message).toMatch(
      /READ_API_HOST=0\.0\.0\.0/,
    );
  });
});
