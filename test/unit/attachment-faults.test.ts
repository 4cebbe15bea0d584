import { describe, expect, it, vi } from "vitest";
import { diagnose } from "../../src/attach/diagnose.js";
import type { ConnectorStatus } from "../../src/connect/connect-client.js";
import { includedTables } from "../../src/connect/connector-config.js";
import type { SlotReading } from "../../src/projector/slot-metrics.js";
import { lostSlotReason } from "../../src/projector/slot-watch.js";
import { TableHealth } from "../../src/projector/table-health.js";
import type { Logger } from "../../src/shared/logger.js";
import type { PgPool } from "../../src/shared/postgres.js";
import { recordCopyHealth } from "../../src/snapshot/copy-health.js";

const running: ConnectorStatus = {
  name: "attach_erp",
  connector: { state: "RUNNING" },
  tasks: [{ id: 0, state: "RUNNING" }],
};
/** A pool that answers the role query with `role` (undefined: no such role). */
const rolePool = (role?: { login: boolean; repl: boolean }) =>
  ({ query: vi.fn(async () => ({ rows: role ? [role] : [] })) }) as unknown as PgPool;

describe("includedTables", () => {
  it("reads a connector's table.include.list, leaving out the sidecar's own tables", () => {
    const config = {
      "table.include.list":
        "crm\\.orders,my_app\\.line_items,sidecar\\.heartbeat,sidecar\\.signal_erp,public\\.sidecar_heartbeat",
    };
    expect(includedTables(config)).toEqual([
      { schema: "crm", table: "orders" },
      { schema: "my_app", table: "line_items" },
    ]);
    expect(includedTables({})).toEqual([]);
  });
});

describe("diagnose", () => {
  const slot = { exists: true as const, active: true, walStatus: "reserved" };

  it("finds nothing wrong with a RUNNING connector that reads its slot", async () => {
    expect(await diagnose(rolePool(), "erp", running, "etl", slot)).toEqual([]);
  });

  it("names a lost slot and the repair that re-creates it", async () => {
    const [p] = await diagnose(rolePool(), "erp", running, "etl", { ...slot, active: false, walStatus: "lost" });
    expect(p!.what).toMatch(/invalidated.*max_slot_wal_keep_size/);
    expect(p!.fix).toMatch(/^cqrs-sidecar repair --name erp /);
  });

  it("names a missing slot, a missing connector and a failed task with its trace", async () => {
    expect((await diagnose(rolePool(), "erp", running, "etl", { exists: false }))[0]!.what).toMatch(/slot is gone/);
    expect((await diagnose(rolePool(), "erp", undefined, "etl", slot))[0]!.what).toMatch(/not registered/);
    const failed = { ...running, tasks: [{ id: 0, state: "FAILED", trace: "org.x.Boom: no\n\tat y" }] };
    const [p] = await diagnose(rolePool(), "erp", failed, "etl", slot);
    expect(p!.what).toBe("the connector failed: org.x.Boom: no");
    expect(p!.fix).toMatch(/repair --name erp \(restarts what failed\)/);
  });

  it("explains a RUNNING connector that does not hold its slot by its user's rights", async () => {
    const inactive = { ...slot, active: false };
    const noRepl = await diagnose(rolePool({ login: true, repl: false }), "erp", running, "etl", inactive);
    expect(noRepl[0]!.what).toMatch(/not reading its slot.*user etl may not open a replication connection/);
    expect(noRepl[0]!.fix).toMatch(/^ALTER ROLE "etl" WITH REPLICATION;/);
    const noLogin = await diagnose(rolePool({ login: false, repl: true }), "erp", running, "etl", inactive);
    expect(noLogin[0]!.fix).toBe('ALTER ROLE "etl" LOGIN;');
    const fine = await diagnose(rolePool({ login: true, repl: true }), "erp", running, "etl", inactive);
    expect(fine[0]!.fix).toMatch(/Kafka Connect's log/);
  });
});

describe("lostSlotReason", () => {
  const reading = (slot: string): SlotReading => ({
    source: { connector: "c", databaseUrl: "postgres://x", database: "db:5432/x", slot, tables: [] },
    exists: true,
    walStatus: "lost",
  });
  it("names the attachment's repair, or the manual steps for a slot the sidecar did not create", () => {
    expect(lostSlotReason(reading("sidecar_attach_erp"))).toMatch(/cqrs-sidecar repair --name erp re-creates/);
    expect(lostSlotReason(reading("debezium"))).toMatch(/drop the slot and register the connector again/);
  });
});

describe("recordCopyHealth", () => {
  const log = { error: vi.fn(), info: vi.fn(), warn: vi.fn() } as unknown as Logger;
  const health = () => new TableHealth({ load: async () => [], save: async () => undefined }, log);

  it("clears marks set before the copy began, keeps later ones, and marks tables with refused rows", async () => {
    const h = health();
    h.mark("crm__old", "crm.old", "slot lost");
    await new Promise((r) => setTimeout(r, 5));
    const startedAt = new Date();
    await new Promise((r) => setTimeout(r, 5));
    h.mark("crm__during", "crm.during", "an event was set aside");
    await recordCopyHealth(
      {
        rows: { "crm.old": 10, "crm.during": 5, "crm.refusing": 3 },
        refused: { "crm.refusing": { schema: "crm", table: "refusing", rows: 1, columns: ["d"] } },
      },
      startedAt,
      h,
    );
    expect(h.isDegraded("crm__old")).toBe(false);
    expect(h.isDegraded("crm__during")).toBe(true);
    expect(h.get("crm__refusing")?.reason).toMatch(/left out 1 row\(s\).*in d/);
  });
});
