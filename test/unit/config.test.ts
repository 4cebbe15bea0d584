import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/shared/config.js";

describe("loadConfig", () => {
  it("gives the native stack's defaults when nothing is set", () => {
    const c = loadConfig({});
    expect(c.DATABASE_URL).toBe("postgres://postgres:postgres@127.0.0.1:55432/shop");
    expect(c.KAFKA_BROKERS).toEqual(["127.0.0.1:9092"]);
    expect(c.CLICKHOUSE_URL).toBe("chdb:.stack/chdb");
    expect(c.WRITE_API_PORT).toBe(3000);
  });

  it("listens on loopback, with no token, and prunes idempotency keys after 24 h, by default", () => {
    const c = loadConfig({});
    expect(c.WRITE_API_HOST).toBe("127.0.0.1");
    expect(c.READ_API_HOST).toBe("127.0.0.1");
    expect(c.PROJECTOR_METRICS_HOST).toBe("127.0.0.1");
    expect(c.API_TOKEN).toBe("");
    expect(c.READ_API_TOKEN).toBe("");
    expect(c.WRITE_API_IDEMPOTENCY_TTL_HOURS).toBe(24);
  });

  it("refuses a host that is not an address or a name", () => {
    expect(() => loadConfig({ READ_API_HOST: "0.0.0.0/0" })).toThrow(
      /READ_API_HOST: must be an IP address or host name/,
    );
  });

  it("names every bad variable in one error", () => {
    let err: unknown;
    try {
      loadConfig({ WRITE_API_PORT: "70000", KAFKA_BROKERS: "localhost", CLICKHOUSE_URL: "ftp://x" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/WRITE_API_PORT/);
    expect(msg).toMatch(/KAFKA_BROKERS.*host:port/);
    expect(msg).toMatch(/CLICKHOUSE_URL/);
  });

  it("treats empty strings as unset and splits lists", () => {
    const c = loadConfig({ API_TOKEN: "", KAFKA_BROKERS: "a:1, b:2", CAPTURE_TABLES: "s.a,s.b" });
    expect(c.API_TOKEN).toBe("");
    expect(c.KAFKA_BROKERS).toEqual(["a:1", "b:2"]);
    expect(c.CAPTURE_TABLES).toEqual(["s.a", "s.b"]);
  });
});
