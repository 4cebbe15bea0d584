import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, expect, test } from "vitest";
import { openClickHouse, queryRows } from "../../src/clickhouse/client.js";
import { parseLsn } from "../../src/shared/lsn.js";
import { type Capture, createCapture, waitForTopics } from "../helpers/capture.js";
import { currentToken, finalRows } from "../helpers/projection.js";
import { stackEnv } from "../helpers/stack.js";

/**
 * SIGKILL the projector process in the middle of a 20,000-row load, start it again: ClickHouse
 * FINAL equals Postgres, nothing lost, nothing duplicated.
 */
let cap: Capture;
let chdbDir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  cap = await createCapture(stackEnv(), "crash");
  await cap.pool.query(
    `CREATE TABLE ${cap.schema}.load (id int PRIMARY KEY, v text NOT NULL, amount numeric(12,2), touched int NOT NULL DEFAULT 0)`,
  );
  await cap.pool.query(`INSERT INTO ${cap.schema}.load VALUES (0, 'seed', 0, 0)`);
  await cap.start(["load"]);
  await waitForTopics(stackEnv().KAFKA_BROKERS.split(","), [cap.topic("load"), cap.heartbeatTopic]);
  chdbDir = mkdtempSync(join(tmpdir(), "crash-chdb-"));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await cap?.drop();
  if (chdbDir) rmSync(chdbDir, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  watermark: () => bigint;
  exited: Promise<number | null>;
}

function startChild(): Child {
  const env = stackEnv();
  const proc = spawn(process.execPath, ["--import", "tsx", "test/fixtures/projector-child.ts"], {
    env: {
      ...process.env,
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      CLICKHOUSE_URL: `chdb:${chdbDir}`,
      CLICKHOUSE_DATABASE: "crash",
      TOPIC_PREFIX: cap.topicPrefix,
      PROJECTOR_GROUP: `g_${cap.id}`,
      DLQ_TOPIC: `${cap.topicPrefix}_dlq`,
      // Small batches: many commits, so the kill lands between and inside them.
      PROJECTOR_MAX_BATCH_BYTES: String(256 * 1024),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(proc);
  let wm = 0n;
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    try {
      const msg = JSON.parse(line) as { watermark?: string };
      if (msg.watermark) wm = parseLsn(msg.watermark);
    } catch {
      // pino lines at warn level may share stdout; they are not watermarks
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, watermark: () => wm, exited };
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("SIGKILL mid-load, restart: FINAL equals Postgres, nothing lost or duplicated", async () => {
  const t = `${cap.schema}.load`;
  const first = startChild();
  const startToken = await currentToken(cap.pool);
  await until(() => first.watermark() >= startToken, 90_000, "the first projector to catch up with the seed row");

  // 20,000 inserts in transactions of 250 rows, with updates of earlier rows mixed in.
  let inserted = 0;
  const load = (async () => {
    for (let start = 1; start <= 20_000; start += 250) {
      await cap.pool.query(
        `INSERT INTO ${t} (id, v, amount) SELECT g, 'row ' || g, (g * 1.25)::numeric(12,2) FROM generate_series($1::int, $2::int) g`,
        [start, start + 249],
      );
      if (start > 1000)
        await cap.pool.query(`UPDATE ${t} SET touched = touched + 1, amount = amount + 1 WHERE id BETWEEN $1 AND $2`, [
          start - 1000,
          start - 900,
        ]);
      inserted = start + 249;
    }
  })();

  await until(() => inserted >= 6_000 && first.watermark() > startToken, 120_000, "the load to be under way");
  expect(inserted).toBeLessThan(20_000); // the kill lands in the middle of the load
  first.proc.kill("SIGKILL");
  expect(await first.exited).toBeNull();
  await load;
  const token = await currentToken(cap.pool);

  const second = startChild();
  await until(() => second.watermark() >= token, 180_000, "the restarted projector to catch up");
  second.proc.kill("SIGTERM");
  expect(await second.exited).toBe(0);

  const ch = await openClickHouse(`chdb:${chdbDir}`);
  try {
    const pg = (await cap.pool.query(`SELECT id, v, amount::text AS amount, touched FROM ${t} ORDER BY id`)).rows;
    expect(pg).toHaveLength(20_001);
    const rows = await finalRows(ch, "crash", `${cap.schema}__load`, "id");
    expect(rows.length).toBe(pg.length);
    expect(rows).toEqual(pg);
    const dup = await queryRows<{ n: string; d: string }>(
      ch,
      `SELECT count() AS n, uniqExact(id) AS d FROM crash.\`${cap.schema}__load\` FINAL`,
    );
    expect(dup[0]).toEqual({ n: "20001", d: "20001" });
    expect(
      parseLsn((await cap.pool.query("SELECT pg_current_wal_insert_lsn()::text AS l")).rows[0].l),
    ).toBeGreaterThanOrEqual(token);
  } finally {
    await ch.close();
  }
});
