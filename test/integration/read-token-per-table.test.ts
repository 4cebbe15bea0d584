import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClickHouse, openClickHouse } from "../../src/clickhouse/client.js";
import { type Projector, startProjector } from "../../src/projector/projector.js";
import { createReadApp, readLimitsFromConfig } from "../../src/read/app.js";
import { projectorFreshness } from "../../src/read/progress.js";
import { loadConfig } from "../../src/shared/config.js";
import { createKafka } from "../../src/shared/kafka.js";
import { createLogger } from "../../src/shared/logger.js";
import { formatLsn, parseLsn } from "../../src/shared/lsn.js";
import { type Capture, createCapture, waitForTopics } from "../helpers/capture.js";
import { currentToken } from "../helpers/projection.js";
import { stackEnv } from "../helpers/stack.js";

/**
 * A read with a consistency token waits for the topics of the tables it reads, not for the
 * busiest topic of the capture: a projector that restarts behind a 100,000-row backlog of
 * `busy` makes a write to `small` readable before it has worked through that backlog, and
 * still never before the write itself is in ClickHouse.
 */
describe("consistency token, per table", () => {
  let cap: Capture;
  let projector: Projector;
  let ch: ClickHouse;
  let start: () => Promise<{ projector: Projector; app: ReturnType<typeof createReadApp> }>;
  const chdbDir = mkdtempSync(join(tmpdir(), "token-table-chdb-"));
  const BACKLOG = 100_000;

  beforeAll(async () => {
    const env = stackEnv();
    cap = await createCapture(env, "tokentab");
    await cap.pool.query(`CREATE TABLE ${cap.schema}.small (id int PRIMARY KEY, label text NOT NULL)`);
    await cap.pool.query(`CREATE TABLE ${cap.schema}.busy (id int PRIMARY KEY, label text NOT NULL)`);
    await cap.pool.query(`INSERT INTO ${cap.schema}.small VALUES (0, 'seed')`);
    await cap.pool.query(`INSERT INTO ${cap.schema}.busy VALUES (0, 'seed')`);
    await cap.start(["small", "busy"]);
    await waitForTopics(env.KAFKA_BROKERS.split(","), [cap.topic("small"), cap.topic("busy"), cap.heartbeatTopic]);
    const config = loadConfig({
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      CLICKHOUSE_URL: `chdb:${chdbDir}`,
      CLICKHOUSE_DATABASE: `t_${cap.id}`,
      TOPIC_PREFIX: cap.topicPrefix,
      PROJECTOR_GROUP: `g_${cap.id}`,
      DLQ_TOPIC: `${cap.topicPrefix}_dlq`,
      READ_API_TOKEN: "",
      LOG_LEVEL: "warn",
    });
    const log = createLogger("warn");
    ch = await openClickHouse(config.CLICKHOUSE_URL);
    start = async () => {
      const p = await startProjector(config, { clickhouse: ch, log, registry: new Registry() });
      const app = createReadApp({
        clickhouse: ch,
        database: config.CLICKHOUSE_DATABASE,
        freshness: projectorFreshness(p),
        log,
        limits: { ...readLimitsFromConfig(config), waitMs: 60_000 },
        registry: new Registry(),
        token: "",
      });
      return { projector: p, app };
    };
    ({ projector } = await start());
    await projector.waitForLsn(await currentToken(cap.pool), 120_000);
  }, 240_000);

  afterAll(async () => {
    await projector?.stop();
    await ch?.close();
    await cap?.drop();
    rmSync(chdbDir, { recursive: true, force: true });
  });

  it("answers a read of one table while another table's backlog is still being projected", async () => {
    const small = `${cap.schema}__small`;
    await projector.stop();
    await cap.pool.query(
      `INSERT INTO ${cap.schema}.busy SELECT g, repeat('x', 200) || g FROM generate_series(1, ${BACKLOG}) g`,
    );
    await cap.pool.query(`INSERT INTO ${cap.schema}.small VALUES (1, 'after the backlog')`);
    const token = await currentToken(cap.pool);
    // Both changes in Kafka before the projector comes back: busy's backlog waits there.
    await waitForEndOffsets({ [cap.topic("busy")]: BACKLOG + 1, [cap.topic("small")]: 2 });
    let app: ReturnType<typeof createReadApp>;
    ({ projector, app } = await start());

    const res = await app.request(`/api/tables/${small}/rows?filter=id:eq:1`, {
      headers: { "x-consistency-token": formatLsn(token) },
    });
    const globalAtAnswer = projector.watermark()?.lsn ?? 0n;
    const body = (await res.json()) as { data: { id: unknown; label: string }[]; freshness: { lsn: string } };

    expect(res.status).toBe(200);
    expect(body.data.map((r) => r.label)).toEqual(["after the backlog"]); // the write is there
    expect(parseLsn(body.freshness.lsn)).toBeGreaterThanOrEqual(token);
    expect(globalAtAnswer).toBeLessThan(token); // and busy's backlog was not: the read did not wait for it

    // The global watermark gets there too, with busy fully projected.
    await projector.waitForLsn(token, 120_000);
    const rs = await ch.query({
      query: `SELECT count() AS n FROM \`t_${cap.id}\`.\`${cap.schema}__busy\` FINAL`,
      format: "JSONEachRow",
    });
    const [row] = (await rs.json()) as { n: string }[];
    expect(Number(row?.n)).toBe(BACKLOG + 1);
  }, 180_000);
});

async function waitForEndOffsets(want: Record<string, number>): Promise<void> {
  const admin = createKafka(stackEnv().KAFKA_BROKERS.split(","), "test-end-offsets").admin();
  await admin.connect();
  try {
    const deadline = Date.now() + 120_000;
    for (const [topic, n] of Object.entries(want)) {
      for (;;) {
        const offsets = await admin.fetchTopicOffsets(topic);
        if (offsets.reduce((sum, o) => sum + Number(o.high), 0) >= n) break;
        if (Date.now() > deadline) throw new Error(`${topic} did not reach ${n} messages in 120 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await admin.disconnect();
  }
}
