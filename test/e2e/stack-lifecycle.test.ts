import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectClient } from "../../src/connect/connect-client.js";
import { collectEvents } from "../helpers/kafka.js";
import { stackEnv } from "../helpers/stack.js";

const run = promisify(execFile);
const env = stackEnv();
const native = (process.env.TEST_STACK ?? "native") === "native";

async function stack(args: string[], extraEnv: Record<string, string> = {}) {
  return run("bash", ["stack/stack.sh", ...args], { env: { ...process.env, ...extraEnv }, timeout: 240_000 });
}

describe.runIf(native)("native stack lifecycle", () => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
  });
  afterAll(async () => {
    await pool.end();
  });

  it("`stack.sh up` twice in a row succeeds and leaves one process per part", async () => {
    await stack(["up"]);
    const second = await stack(["up"]);
    expect(second.stdout).toMatch(/postgres already running/);
    expect(second.stdout).toMatch(/kafka already running/);
    expect(second.stdout).toMatch(/kafka connect already running/);
    const status = await stack(["status"]);
    expect(status.stdout).toMatch(/postgres\s+up/);
    expect(status.stdout).toMatch(/kafka\s+up/);
    expect(status.stdout).toMatch(/connect\s+up/);
  });

  it("a change made while Connect is down arrives after it comes back (the slot kept it)", async () => {
    await stack(["stop", "connect"]);
    const email = `while-down-${randomUUID()}@example.test`;
    const { rows } = await pool.query<{ id: string }>(
      "INSERT INTO shop.customers (email, name) VALUES ($1, 'Kept by the slot') RETURNING id",
      [email],
    );
    const slot = await pool.query("SELECT active FROM pg_replication_slots WHERE slot_name = 'sidecar_shop'");
    expect(slot.rows[0]?.active).toBe(false);

    await stack(["up"]);
    await new ConnectClient(env.KAFKA_CONNECT_URL).waitRunning("shop", 90_000);
    const events = await collectEvents(env.KAFKA_BROKERS.split(","), "sidecar.shop.customers", (evs) =>
      evs.some((e) => e.after?.id === rows[0]!.id),
    );
    expect(events.find((e) => e.after?.id === rows[0]!.id)?.after?.email).toBe(email);
  });

  it("a taken port stops `up` with the port, the part and the fix, and starts nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stack-port-"));
    await chmod(dir, 0o755);
    const server = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const port = (server.address() as { port: number }).port;
    try {
      const err = await stack(["up"], { STACK_DIR: dir, PG_PORT: String(port) }).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(1);
      expect(err?.stderr).toMatch(new RegExp(`port ${port} for Postgres is taken`));
      expect(err?.stderr).toMatch(/PG_PORT=<port> make up/);
      expect(err?.stderr).not.toMatch(/at .*\(.*:\d+:\d+\)/); // no stack trace
    } finally {
      server.close();
      await stack(["stop", "postgres"], { STACK_DIR: dir }).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  });
});
