import { appendFileSync, readFileSync, rmSync, statfsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Admin } from "kafkajs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatVerifyReport, verifyAttachment } from "../../src/attach/verify.js";
import { createKafka } from "../../src/shared/kafka.js";
import { ShopLoad } from "../helpers/load.js";
import { type PrivateStack, startPrivateStack } from "../helpers/private-stack.js";

/**
 * ClickHouse refuses writes for a while: its disk is full (the embedded ClickHouse's directory is
 * a small tmpfs, filled by a file of the test's own) during a steady write load. The projector
 * must keep its place (no Kafka commit, nothing dead-lettered: a full disk is not a bad row), say
 * why, and catch up once the space is back, ending with the projection equal to Postgres.
 * Native stack only, and root only (it mounts the tmpfs).
 */
const native = (process.env.TEST_STACK ?? "native") === "native";
const root = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SHOP_TABLES = ["customers", "products", "orders", "order_lines"].map((table) => ({ schema: "shop", table }));
const SHOP_TOPICS = SHOP_TABLES.map((t) => `sidecar.shop.${t.table}`);
const GROUP = "cqrs-sidecar-projector";

describe.runIf(native && root).sequential("ClickHouse refuses writes", () => {
  let s: PrivateStack;
  let pool: pg.Pool;
  let load: ShopLoad;

  beforeAll(async () => {
    s = await startPrivateStack(Number(process.env.CLICKHOUSE_FULL_STACK_BASE_PORT ?? 25600), { chdbTmpfsMb: 256 });
    await s.startRole("write");
    await s.startRole("projectread");
    pool = new pg.Pool({ connectionString: s.env.DATABASE_URL, max: 2 });
    load = new ShopLoad(s.writeUrl);
    await load.seed();
  }, 600_000);

  afterAll(async () => {
    await load?.stop();
    await pool?.end();
    await s?.close();
  }, 300_000);

  /** As in faults.test.ts: verify waits until the read API passed the source's LSN, then compares every row. */
  async function expectVerified() {
    expect(load.lastToken, "the load made at least one successful write").toBeTruthy();
    const report = await verifyAttachment(pool, { kind: "read-api", url: s.readUrl }, "shop", {
      tables: SHOP_TABLES,
      waitMs: 180_000,
      chunkRows: 5_000,
    });
    expect(report.projectionBehind, `the projection did not reach ${report.waitedForLsn} in 180 s`).toBe(false);
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report.tables.map((t) => t.postgresRows).every((n) => n > 0)).toBe(true);
  }

  it("ClickHouse's disk full during a load: offsets held, the reason logged, nothing set aside, caught up once space is back", async () => {
    const kafka = createKafka([s.env.KAFKA_BROKERS!], "fault-test");
    const admin = kafka.admin();
    await admin.connect();
    const disk = new FullDisk(s.chdbDir);
    try {
      const dlqBefore = await topicSize(admin, "sidecar.dlq");
      load.start();
      await sleep(3_000);

      const logFrom = statSync(join(s.dir, "projectread.log")).size;
      const usedMb = Math.round(disk.usedBytes() / 2 ** 20);
      const filledAt = Date.now();
      disk.fill();
      expect(disk.freeBytes(), "the tmpfs is full (ClickHouse reserves at least 1 MiB per insert)").toBeLessThan(
        1 << 20,
      );

      // It says why: a "retrying" line naming the full disk, and the insert retries counted.
      const why = await waitFor(() => retryLines(join(s.dir, "projectread.log"), logFrom), 60_000);
      expect(why, "the projector's log says why it cannot store").toMatch(/not enough space/i);
      const saidWhyMs = Date.now() - filledAt;
      await sleep(2_000); // a batch stored just before the disk filled may still be committing

      // It keeps its place: while writes go on, no committed offset moves.
      const held = await committed(admin);
      const retriesHeld = await metricSum(s.metricsUrl, /^sidecar_projector_retries_total\{stage="insert"\}/);
      const okHeld = load.ok;
      const watermarkHeld = await watermark(s.metricsUrl);
      expect(watermarkHeld, "a watermark was published before the disk filled").not.toBeNull();
      await sleep(20_000);
      expect(load.ok, "writes to Postgres go on meanwhile").toBeGreaterThan(okHeld);
      expect(await committed(admin), "no offset is committed while ClickHouse refuses the rows").toEqual(held);
      expect(sum(await ends(admin)), "Kafka holds messages the projector has not committed").toBeGreaterThan(sum(held));
      expect(await watermark(s.metricsUrl), "the consistency watermark waits (reads say how stale)").toEqual(
        watermarkHeld,
      );
      expect(
        await metricSum(s.metricsUrl, /^sidecar_projector_retries_total\{stage="insert"\}/),
        "still retrying the insert",
      ).toBeGreaterThan(retriesHeld);
      // Nothing set aside, no table degraded: a full disk is not a bad row.
      await expectNothingSetAside(admin, dlqBefore);
      expect(disk.freeBytes(), "the disk stayed full throughout").toBeLessThan(1 << 20);

      // Space back: it catches up by itself, and the projection equals Postgres.
      disk.release();
      const releasedAt = Date.now();
      await sleep(3_000);
      await load.stop();
      await expectVerified();
      const caughtUpMs = Date.now() - releasedAt;
      // And it committed again, up to the end of every shop topic.
      const behind = await waitFor(async () => {
        const [c, e] = [await committed(admin), await ends(admin)];
        const left = [...e].filter(([tp, end]) => end > 0 && c.get(tp) !== end);
        return left.length === 0 ? [] : undefined;
      }, 30_000).catch(() => "committed offsets short of the topics' ends 30 s after verify");
      expect(behind).toEqual([]);
      await expectNothingSetAside(admin, dlqBefore);
      console.log(
        `[clickhouse-full] ClickHouse held ${usedMb} MiB; said why ${saidWhyMs} ms after the disk filled; verified ${caughtUpMs} ms after space was back`,
      );
    } finally {
      disk.release();
      await load.stop();
      await admin.disconnect();
    }
  });

  async function expectNothingSetAside(admin: Admin, dlqBefore: number) {
    expect(await topicSize(admin, "sidecar.dlq"), "nothing dead-lettered").toBe(dlqBefore);
    expect(await metricSum(s.metricsUrl, /^sidecar_projector_dlq_total\b/), "dlq_total").toBe(0);
    const ready = (await (await fetch(`${s.metricsUrl}/ready`)).json()) as { ready: boolean; degraded: unknown[] };
    expect(ready, "/ready: in the group, no table degraded").toMatchObject({ ready: true, degraded: [] });
  }
});

/**
 * Keeps a small filesystem full: a filler file grown until ENOSPC, topped up every 100 ms (the
 * embedded ClickHouse frees space by itself when it removes old parts, and an insert would then
 * get through).
 */
class FullDisk {
  private readonly file: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly dir: string) {
    this.file = join(dir, "filler");
  }

  fill(): void {
    this.top();
    this.timer = setInterval(() => this.top(), 100);
  }

  release(): void {
    clearInterval(this.timer);
    rmSync(this.file, { force: true });
  }

  usedBytes(): number {
    const st = statfsSync(this.dir);
    return (st.blocks - st.bfree) * st.bsize;
  }

  freeBytes(): number {
    const st = statfsSync(this.dir);
    return st.bavail * st.bsize;
  }

  private top(): void {
    const chunk = Buffer.alloc(1 << 20);
    try {
      for (;;) appendFileSync(this.file, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
    }
  }
}

/** The projector's "retrying" log lines for the insert step, written after byte `from` of its log. */
function retryLines(log: string, from: number): string | undefined {
  const lines = readFileSync(log).subarray(from).toString("utf8").split("\n");
  const hits = lines.filter((l) => l.includes('"msg":"retrying"') && l.includes('"stage":"insert"'));
  return hits.length > 0 ? hits.join("\n") : undefined;
}

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`nothing within ${ms} ms`);
    await sleep(250);
  }
}

/** The projector group's committed offset per shop topic partition ("topic/partition" → offset). */
async function committed(admin: Admin): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of await admin.fetchOffsets({ groupId: GROUP, topics: SHOP_TOPICS }))
    for (const p of t.partitions) out.set(`${t.topic}/${p.partition}`, Number(p.offset));
  return out;
}

/** The end (high watermark) of each shop topic partition. */
async function ends(admin: Admin): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const topic of SHOP_TOPICS)
    for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}/${p.partition}`, Number(p.high));
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + Math.max(b, 0), 0);

/** The projector's published consistency watermark (source LSN), null before the first. */
async function watermark(metricsUrl: string): Promise<string | null> {
  return ((await (await fetch(`${metricsUrl}/watermark`)).json()) as { lsn: string | null }).lsn;
}

/** Sum of the samples on the projector's /metrics whose line matches `series`. */
async function metricSum(metricsUrl: string, series: RegExp): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => series.test(l))
    .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

async function topicSize(admin: Admin, topic: string): Promise<number> {
  if (!(await admin.listTopics()).includes(topic)) return 0;
  return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
}
