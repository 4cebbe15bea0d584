import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyConnectors } from "../../src/connect/apply.js";
import { ConnectClient } from "../../src/connect/connect-client.js";
import { loadConfig } from "../../src/shared/config.js";
import { createLogger } from "../../src/shared/logger.js";
import { ownConnector } from "../helpers/connector.js";
import { collectEvents } from "../helpers/kafka.js";
import { stackEnv } from "../helpers/stack.js";

const env = stackEnv();
const brokers = env.KAFKA_BROKERS.split(",");
let pool: pg.Pool;

beforeAll(() => {
  pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
});
afterAll(async () => {
  await pool.end();
});

describe("Postgres → Debezium → Kafka (demo connector)", () => {
  it("an insert, update and delete arrive as c, u, d events with before, after and source.lsn", async () => {
    const email = `cdc-${randomUUID()}@example.test`;
    const { rows } = await pool.query<{ id: string }>(
      "INSERT INTO shop.customers (email, name) VALUES ($1, 'First') RETURNING id",
      [email],
    );
    const id = rows[0]!.id;
    await pool.query("UPDATE shop.customers SET name = 'Second' WHERE id = $1", [id]);
    await pool.query("DELETE FROM shop.customers WHERE id = $1", [id]);

    const events = await collectEvents(brokers, "sidecar.shop.customers", (evs) =>
      evs.some((e) => e.op === "d" && e.before?.id === id),
    );
    const mine = events.filter((e) => (e.after?.id ?? e.before?.id) === id);
    expect(mine.map((e) => e.op)).toEqual(["c", "u", "d"]);
    const [c, u, d] = mine as [(typeof mine)[0], (typeof mine)[0], (typeof mine)[0]];
    expect(c.before).toBeNull();
    expect(c.after).toMatchObject({ id, email, name: "First" });
    expect(u.before).toMatchObject({ id, name: "First" });
    expect(u.after).toMatchObject({ id, name: "Second" });
    expect(d.before).toMatchObject({ id, name: "Second" });
    expect(d.after).toBeNull();
    for (const e of mine) {
      expect(e.source.table).toBe("customers");
      expect(typeof e.source.lsn).toBe("number");
    }
    // One row's changes carry strictly increasing LSNs: the projector's version rule rests on this.
    expect(c.source.lsn!).toBeLessThan(u.source.lsn!);
    expect(u.source.lsn!).toBeLessThan(d.source.lsn!);
  });

  it("re-applying the connector config keeps one connector and one slot", async () => {
    const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: "silent" });
    const log = createLogger("silent");
    await applyConnectors(config, pool, log);
    await applyConnectors(config, pool, log);
    const names = await new ConnectClient(env.KAFKA_CONNECT_URL).listConnectors();
    expect(names.filter((n) => n === "shop")).toHaveLength(1);
    const slots = await pool.query("SELECT slot_name FROM pg_replication_slots WHERE slot_name = 'sidecar_shop'");
    expect(slots.rowCount).toBe(1);
    const pubs = await pool.query("SELECT pubname FROM pg_publication WHERE pubname = 'sidecar_shop'");
    expect(pubs.rowCount).toBe(1);
  });
});

describe("initial snapshot", () => {
  const suffix = randomUUID().slice(0, 8);
  const schema = `snap_${suffix}`;
  let connector: Awaited<ReturnType<typeof ownConnector>>;

  afterAll(async () => {
    await connector?.drop();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  it("delivers rows that existed before the connector was registered as op r", async () => {
    await pool.query(`CREATE SCHEMA ${schema}`);
    await pool.query(`CREATE TABLE ${schema}.items (id int PRIMARY KEY, label text NOT NULL)`);
    await pool.query(`INSERT INTO ${schema}.items SELECT g, 'item ' || g FROM generate_series(1, 25) g`);

    connector = await ownConnector(env, `snaptest_${suffix}`, [`${schema}.items`]);
    await connector.apply();
    const events = await collectEvents(brokers, connector.topic(`${schema}.items`), (evs) => evs.length >= 25);

    expect(events).toHaveLength(25);
    expect(events.every((e) => e.op === "r" && e.before === null)).toBe(true);
    expect(events.map((e) => e.after?.id).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    expect(events.find((e) => e.after?.id === 7)?.after?.label).toBe("item 7");
    // Without the schema in each message: it is in the schema topic, named by a header.
    expect(events.every((e) => e.format === "named")).toBe(true);
  });
});
