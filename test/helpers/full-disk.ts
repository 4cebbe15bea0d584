import { appendFileSync, readdirSync, readFileSync, rmSync, statfsSync, truncateSync } from "node:fs";
import { join } from "node:path";
import type { Admin } from "kafkajs";

/** Probes for the ClickHouse-refuses-writes fault (test/e2e/faults.test.ts): the disk, the group's offsets, the projector's metrics. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SHOP_TOPICS = ["customers", "products", "orders", "order_lines"].map((t) => `sidecar.shop.${t}`);
const GROUP = "cqrs-sidecar-projector";

/**
 * Keeps a small filesystem full: a filler file grown until ENOSPC, topped up every 100 ms (the
 * embedded ClickHouse frees space by itself when it removes old parts, and an insert would then
 * get through).
 */
export class FullDisk {
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
export function retryLines(log: string, from: number): string | undefined {
  return logLines(log, from, /"msg":"retrying".*"stage":"insert"|"stage":"insert".*"msg":"retrying"/);
}

/** Lines of a log written after byte `from` that match, joined; undefined when none does. */
export function logLines(log: string, from: number, match: RegExp): string | undefined {
  const lines = readFileSync(log).subarray(from).toString("utf8").split("\n");
  const hits = lines.filter((l) => match.test(l));
  return hits.length > 0 ? hits.join("\n") : undefined;
}

export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`nothing within ${ms} ms`);
    await sleep(250);
  }
}

/** The projector group's committed offset per shop topic partition ("topic/partition" → offset). */
export async function committed(admin: Admin): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of await admin.fetchOffsets({ groupId: GROUP, topics: SHOP_TOPICS }))
    for (const p of t.partitions) out.set(`${t.topic}/${p.partition}`, Number(p.offset));
  return out;
}

/** The end (high watermark) of each shop topic partition. */
export async function ends(admin: Admin): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const topic of SHOP_TOPICS)
    for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}/${p.partition}`, Number(p.high));
  return out;
}

export const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + Math.max(b, 0), 0);

/** The projector's published consistency watermark (source LSN), null before the first. */
export async function watermark(metricsUrl: string): Promise<string | null> {
  return ((await (await fetch(`${metricsUrl}/watermark`)).json()) as { lsn: string | null }).lsn;
}

/** Sum of the samples on the projector's /metrics whose line matches `series`. */
export async function metricSum(metricsUrl: string, series: RegExp): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => series.test(l))
    .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

export async function adminTopicSize(admin: Admin, topic: string): Promise<number> {
  if (!(await admin.listTopics()).includes(topic)) return 0;
  return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
}

/**
 * Damages the newest part of a projected table as chDB did by itself in the disk-full fault
 * (docs/operations.md): its marks file emptied, its checksums left as they were. The newest part
 * is one not covered by another's block range (outdated parts stay on disk for a while).
 * Returns the part's name.
 */
export function damageNewestPart(chdbDir: string, database: string, table: string): string {
  const dir = join(chdbDir, "data", database, table);
  const parts = readdirSync(dir)
    .map((name) => ({ name, m: /^all_(\d+)_(\d+)_(\d+)/.exec(name) }))
    .filter((p): p is { name: string; m: RegExpExecArray } => p.m !== null)
    .map((p) => ({ name: p.name, min: Number(p.m[1]), max: Number(p.m[2]) }));
  const covered = (p: { min: number; max: number }) =>
    parts.some((o) => o.min <= p.min && o.max >= p.max && (o.min !== p.min || o.max !== p.max));
  const newest = parts.filter((p) => !covered(p)).sort((a, b) => b.max - a.max)[0];
  if (!newest) throw new Error(`no part of ${database}.${table} under ${dir}`);
  const marks = readdirSync(join(dir, newest.name)).find((f) => /\.c?mrk\d*$/.test(f));
  if (!marks) throw new Error(`no marks file in ${newest.name}`);
  truncateSync(join(dir, newest.name, marks), 0);
  return newest.name;
}
