import { describe, expect, it } from "vitest";
import { partitionLag } from "../../src/projector/group-lag-metrics.js";
import {
  CONNECT_STATES,
  connectorHealth,
  reachVia,
  slotSourceOf,
  stateSet,
  WAL_STATUSES,
} from "../../src/projector/pipeline-sources.js";
import { sharedRead } from "../../src/projector/scrape-cache.js";

const pgConfig = {
  "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
  "database.hostname": "db.internal",
  "database.port": "6432",
  "database.user": "cdc user",
  "database.password": "p@ss/word",
  "database.dbname": "erp",
  "slot.name": "sidecar_erp",
};

describe("stateSet", () => {
  it("1 for the current state, 0 for every other known one", () => {
    const set = stateSet("FAILED", CONNECT_STATES);
    expect(set.map((s) => s.state)).toEqual([...CONNECT_STATES]);
    expect(set.filter((s) => s.value === 1)).toEqual([{ state: "FAILED", value: 1 }]);
  });

  it("a state it does not know is added, so RUNNING is still 0", () => {
    const set = stateSet("DESTROYED", CONNECT_STATES);
    expect(set).toContainEqual({ state: "DESTROYED", value: 1 });
    expect(set).toContainEqual({ state: "RUNNING", value: 0 });
    expect(set).toHaveLength(CONNECT_STATES.length + 1);
  });

  it("wal_status: a missing slot is not reserved", () => {
    expect(stateSet("missing", WAL_STATUSES)).toContainEqual({ state: "reserved", value: 0 });
  });
});

describe("slotSourceOf", () => {
  it("a Debezium Postgres connector: its database (credentials out of the label) and slot", () => {
    const s = slotSourceOf("erp", pgConfig);
    expect(s).toMatchObject({ connector: "erp", database: "db.internal:6432/erp", slot: "sidecar_erp" });
    const url = new URL(s!.databaseUrl);
    expect(decodeURIComponent(url.username)).toBe("cdc user");
    expect(decodeURIComponent(url.password)).toBe("p@ss/word");
    expect(s!.database).not.toContain("p@ss");
  });

  it("Debezium's default slot name when slot.name is unset", () => {
    const { "slot.name": _, ...rest } = pgConfig;
    expect(slotSourceOf("erp", rest)?.slot).toBe("debezium");
  });

  it("no slot for a MySQL/MariaDB connector or any other", () => {
    expect(slotSourceOf("m", { ...pgConfig, "connector.class": "io.debezium.connector.mysql.MySqlConnector" })).toBe(
      undefined,
    );
    expect(slotSourceOf("x", {})).toBe(undefined);
  });
});

describe("reachVia", () => {
  const reach = reachVia("postgres://u:p@127.0.0.1:55432/shop", "postgres://u:p@postgres:5432/shop");

  it("the database Connect reaches as CONNECT_DATABASE_URL is reached at DATABASE_URL's host and port", () => {
    const s = slotSourceOf("shop", { ...pgConfig, "database.hostname": "postgres", "database.port": "5432" }, reach);
    expect(s?.database).toBe("127.0.0.1:55432/erp");
    expect(new URL(s!.databaseUrl).username).toBe("cdc%20user");
  });

  it("any other database as the connector names it", () => {
    expect(slotSourceOf("erp", pgConfig, reach)?.database).toBe("db.internal:6432/erp");
  });

  it("without CONNECT_DATABASE_URL every URL is kept", () => {
    const u = new URL("postgres://a@h:1/d");
    expect(reachVia("postgres://x@y:2/z", undefined)(u)).toBe(u);
  });
});

describe("connectorHealth", () => {
  it("each connector with its state, its tasks and (Postgres) its slot, sorted by name", () => {
    const health = connectorHealth({
      shop: {
        status: { name: "shop", connector: { state: "RUNNING" }, tasks: [{ id: 0, state: "FAILED", trace: "x" }] },
        info: { name: "shop", config: pgConfig },
      },
      billing: {
        status: { name: "billing", connector: { state: "PAUSED" }, tasks: [] },
        info: { name: "billing", config: { "connector.class": "io.debezium.connector.mariadb.MariaDbConnector" } },
      },
      nostatus: {},
    });
    expect(health.map((c) => [c.name, c.state, c.tasks, c.postgres?.slot])).toEqual([
      ["billing", "PAUSED", [], undefined],
      ["nostatus", "UNASSIGNED", [], undefined],
      ["shop", "RUNNING", [{ id: 0, state: "FAILED" }], "sidecar_erp"],
    ]);
  });
});

describe("partitionLag", () => {
  it("high watermark minus the committed offset", () => {
    expect(partitionLag("90", "100", "0")).toEqual({ lag: 10, beforeLogStart: false });
    expect(partitionLag("100", "100", "0")).toEqual({ lag: 0, beforeLogStart: false });
  });

  it("nothing committed yet: everything from the log start", () => {
    expect(partitionLag("-1", "100", "40")).toEqual({ lag: 60, beforeLogStart: false });
  });

  it("committed before the log start: retention removed what was never projected", () => {
    expect(partitionLag("10", "100", "40")).toEqual({ lag: 90, beforeLogStart: true });
  });
});

describe("sharedRead", () => {
  it("one read for every caller within maxAgeMs, a new one after", async () => {
    let t = 0;
    let reads = 0;
    const read = sharedRead(async () => ++reads, { maxAgeMs: 1000, deadlineMs: 1000, now: () => t });
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    t = 999;
    expect(await read()).toBe(1);
    t = 1000;
    expect(await read()).toBe(2);
  });

  it("a read still running is not started again, and a caller gives up at the deadline", async () => {
    let t = 0;
    let reads = 0;
    let finish: (n: number) => void = () => {};
    const read = sharedRead(
      () => {
        reads++;
        return new Promise<number>((r) => {
          finish = r;
        });
      },
      { maxAgeMs: 10, deadlineMs: 30, now: () => t },
    );
    await expect(read()).rejects.toThrow("no answer within 30 ms");
    t = 100;
    await expect(read()).rejects.toThrow("no answer within 30 ms");
    expect(reads).toBe(1);
    finish(7);
    expect(await read()).toBe(7);
    t = 200;
    void read();
    expect(reads).toBe(2);
  });

  it("a failure is shared too", async () => {
    let reads = 0;
    const read = sharedRead(
      async () => {
        reads++;
        throw new Error("away");
      },
      { maxAgeMs: 1000, deadlineMs: 1000, now: () => 0 },
    );
    await expect(read()).rejects.toThrow("away");
    await expect(read()).rejects.toThrow("away");
    expect(reads).toBe(1);
  });
});
