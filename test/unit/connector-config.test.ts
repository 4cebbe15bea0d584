import { describe, expect, it } from "vitest";
import { connectorVariables, renderConnectorConfig, tableIncludeRegex } from "../../src/connect/connector-config.js";
import { formatLsn, parseLsn } from "../../src/shared/lsn.js";

describe("connector config", () => {
  const vars = connectorVariables({
    databaseUrl: "postgres://us%40er:p%3Ass@db.example:6543/my_db",
    topicPrefix: "pfx",
    name: "Legacy-CRM",
    tables: ["public.a", "crm.b$1"],
    heartbeatTable: "public.sidecar_heartbeat",
  });

  it("derives connection, slot, publication and include list from the configuration", () => {
    expect(vars).toMatchObject({
      PGHOST: "db.example",
      PGPORT: "6543",
      PGUSER: "us@er",
      PGPASSWORD: "p:ss",
      PGDATABASE: "my_db",
      SLOT_NAME: "sidecar_legacy_crm",
      PUBLICATION_NAME: "sidecar_legacy_crm",
    });
    expect(vars.TABLE_INCLUDE_LIST).toBe("public\\.a,crm\\.b\\$1,public\\.sidecar_heartbeat");
    expect(new RegExp(`^${tableIncludeRegex("crm.b$1")}$`).test("crm.b$1")).toBe(true);
    expect(new RegExp(`^${tableIncludeRegex("crm.b$1")}$`).test("crmXb$1")).toBe(false);
  });

  it("substitutes ${VAR} and names unknown variables", () => {
    expect(renderConnectorConfig({ "slot.name": "${SLOT_NAME}", x: "a-${PGPORT}-b" }, vars)).toEqual({
      "slot.name": "sidecar_legacy_crm",
      x: "a-6543-b",
    });
    expect(() => renderConnectorConfig({ a: "${NOPE}", b: "${ALSO_NOPE}" }, vars, "f.json")).toThrow(
      /f\.json: unknown variable\(s\) \$\{NOPE\}, \$\{ALSO_NOPE\}/,
    );
    expect(() => renderConnectorConfig({ a: 5 }, vars)).toThrow(/must be a string/);
  });
});

describe("LSN text", () => {
  it("round-trips and orders numerically", () => {
    expect(parseLsn("0/16B3748")).toBe(0x16b3748n);
    expect(parseLsn("1/0")).toBe(1n << 32n);
    expect(formatLsn(parseLsn("AB/CDEF0123"))).toBe("AB/CDEF0123");
    expect(parseLsn("0/FFFFFFFF") < parseLsn("1/0")).toBe(true);
    expect(() => parseLsn("0/xyz")).toThrow(/not a Postgres LSN/);
    expect(() => parseLsn("123")).toThrow(/not a Postgres LSN/);
  });
});
