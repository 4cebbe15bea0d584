import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectClient } from "../../src/connect/connect-client.js";
import { ownConnector } from "../helpers/connector.js";
import {
  LEFTOVER_AGE_MS,
  registerTestResources,
  removeLeftovers,
  unregisterTestResources,
} from "../helpers/leftovers.js";
import { stackEnv } from "../helpers/stack.js";

/**
 * What an interrupted run leaves on the shared stack (a running connector, its slot and
 * publication, its schema) is removed by the next run once it is older than any test lives;
 * what a concurrent run registered a moment ago is not touched.
 */
describe("leftovers of interrupted test runs", () => {
  const env = stackEnv();
  const suffix = randomUUID().slice(0, 8);
  const oldSchema = `left_${suffix}`;
  const freshSchema = `fresh_${suffix}`;
  const freshSlot = `sidecar_fresh_${suffix}`;
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  const connect = new ConnectClient(env.KAFKA_CONNECT_URL);
  let leftover: Awaited<ReturnType<typeof ownConnector>>;

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA ${oldSchema}`);
    await pool.query(`CREATE TABLE ${oldSchema}.items (id int PRIMARY KEY)`);
    leftover = await ownConnector(env, `leftover_${suffix}`, [`${oldSchema}.items`]);
    await leftover.apply(); // registers it, as a test does
    // An interrupted run: registered two hours ago and never dropped.
    await pool.query(
      "UPDATE public.sidecar_test_resources SET created_at = now() - interval '2 hours' WHERE connector = $1",
      [`leftover_${suffix}`],
    );
    // A concurrent run's resources, registered just now.
    await pool.query(`CREATE SCHEMA ${freshSchema}`);
    await pool.query(`CREATE PUBLICATION ${freshSlot} FOR ALL TABLES`);
    await pool.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [freshSlot]);
    await registerTestResources(env, {
      connector: `fresh_${suffix}`,
      slot: freshSlot,
      publication: freshSlot,
      schemas: [freshSchema],
    });
  }, 120_000);

  afterAll(async () => {
    // Only what this test made: other test files of the run may have resources registered.
    await leftover?.drop().catch(() => undefined);
    await pool.query(`DROP SCHEMA IF EXISTS ${oldSchema} CASCADE`).catch(() => undefined);
    await pool.query("SELECT pg_drop_replication_slot($1)", [freshSlot]).catch(() => undefined);
    await pool.query(`DROP PUBLICATION IF EXISTS ${freshSlot}`).catch(() => undefined);
    await pool.query(`DROP SCHEMA IF EXISTS ${freshSchema} CASCADE`).catch(() => undefined);
    await unregisterTestResources(env, `fresh_${suffix}`).catch(() => undefined);
    await pool.end();
  });

  it("removes the old connector, slot, publication and schema and keeps the fresh ones", async () => {
    const slots = async (name: string) =>
      (await pool.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [name])).rowCount;
    const pubs = async (name: string) =>
      (await pool.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [name])).rowCount;
    const schemas = async (name: string) =>
      (await pool.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [name])).rowCount;
    const oldSlot = leftover.vars.SLOT_NAME as string;
    expect(await connect.listConnectors()).toContain(`leftover_${suffix}`);
    expect(await slots(oldSlot)).toBe(1);

    const removed = await removeLeftovers(env, LEFTOVER_AGE_MS);

    expect(removed).toContain(`leftover_${suffix}`);
    expect(removed).not.toContain(`fresh_${suffix}`);
    expect(await connect.listConnectors()).not.toContain(`leftover_${suffix}`);
    expect(await slots(oldSlot)).toBe(0);
    expect(await pubs(leftover.vars.PUBLICATION_NAME as string)).toBe(0);
    expect(await schemas(oldSchema)).toBe(0);
    expect(await slots(freshSlot)).toBe(1);
    expect(await pubs(freshSlot)).toBe(1);
    expect(await schemas(freshSchema)).toBe(1);
    const registered = await pool.query(
      "SELECT connector FROM public.sidecar_test_resources WHERE connector = ANY($1)",
      [[`leftover_${suffix}`, `fresh_${suffix}`]],
    );
    expect(registered.rows.map((r) => r.connector)).toEqual([`fresh_${suffix}`]);
  }, 120_000);
});
