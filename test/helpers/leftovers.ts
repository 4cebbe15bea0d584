import pg from "pg";
import { dropSlotAndPublication } from "../../src/attach/source-setup.js";
import { quoteIdent } from "../../src/attach/tables.js";
import { ConnectClient } from "../../src/connect/connect-client.js";
import type { StackEnv } from "./stack.js";

/**
 * What integration tests create on the shared stack (a connector, its slot and publication,
 * schemas) is registered here while it exists. A run that is interrupted (Ctrl-C, a killed
 * worker) never reaches its clean-up: its connector keeps polling (Connect idled at 35% of a
 * core with three of them) and its slot holds WAL back for good. The next run's global setup
 * removes what is registered for longer than any test lives; a concurrent run's fresh
 * resources are left alone.
 */
const REGISTRY = "public.sidecar_test_resources";
/** No test keeps its connector this long (the longest suite takes minutes). */
export const LEFTOVER_AGE_MS = 60 * 60 * 1000;

export interface TestResources {
  connector: string;
  slot: string;
  publication: string;
  schemas: string[];
}

async function withPool<T>(env: StackEnv, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1, application_name: "test-leftovers" });
  try {
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${REGISTRY} (connector text PRIMARY KEY, slot text NOT NULL, publication text NOT NULL,
        schemas text[] NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    );
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

export async function registerTestResources(env: StackEnv, r: TestResources): Promise<void> {
  await withPool(env, (pool) =>
    pool.query(
      `INSERT INTO ${REGISTRY} (connector, slot, publication, schemas) VALUES ($1, $2, $3, $4)
       ON CONFLICT (connector) DO UPDATE SET created_at = now()`,
      [r.connector, r.slot, r.publication, r.schemas],
    ),
  );
}

export async function unregisterTestResources(env: StackEnv, connector: string): Promise<void> {
  await withPool(env, (pool) => pool.query(`DELETE FROM ${REGISTRY} WHERE connector = $1`, [connector]));
}

/** Removes registered resources older than `olderThanMs`; returns the connectors removed. */
export async function removeLeftovers(env: StackEnv, olderThanMs = LEFTOVER_AGE_MS): Promise<string[]> {
  const connect = new ConnectClient(env.KAFKA_CONNECT_URL);
  return withPool(env, async (pool) => {
    const { rows } = await pool.query<TestResources>(
      `SELECT connector, slot, publication, schemas FROM ${REGISTRY} WHERE created_at < now() - make_interval(secs => $1)`,
      [olderThanMs / 1000],
    );
    const removed: string[] = [];
    for (const r of rows) {
      try {
        await connect.delete(r.connector).catch(() => false); // already gone is fine
        await dropSlotAndPublication(pool, r.slot, r.publication);
        for (const s of r.schemas) await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
        await pool.query("DELETE FROM public.sidecar_heartbeat WHERE slot_name = $1", [r.slot]).catch(() => undefined);
        await pool.query(`DELETE FROM ${REGISTRY} WHERE connector = $1`, [r.connector]);
        removed.push(r.connector);
      } catch (err) {
        console.warn(`[test] could not remove leftover ${r.connector}: ${(err as Error).message}`);
      }
    }
    return removed;
  });
}
