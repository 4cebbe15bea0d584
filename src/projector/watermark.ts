import { lowestWatermark } from "../shared/lsn.js";

/**
 * The consistency watermark (pure logic; the projector drives it on a timer).
 *
 * A write's token is pg_current_wal_insert_lsn() read right after its COMMIT. The projector
 * pairs two readings each tick:
 *
 *   L = the source position Debezium has durably produced up to (Kafka Connect's committed
 *       offset, lsn_proc; see connect-offsets.ts): every event of a write with token ≤ L is in Kafka;
 *   H = high-watermark offsets of every captured partition, fetched AFTER L was read.
 *   (L, H) is a candidate; it is published once every partition's applied next-offset ≥ H.
 *
 * Then every event of any write with token ≤ L is in ClickHouse. The published watermark only
 * moves forward. (L must not be taken from the LSNs of consumed events: a producer does not keep
 * the order of records across partitions, so a later heartbeat can land before earlier rows.)
 *
 * Per topic the same holds for the topic's own partitions: once they are applied up to their H,
 * every event of a write with token ≤ L *on that topic* is in ClickHouse. A read that touches
 * only some tables waits for their topics alone (`currentFor`), not for the busiest topic
 * of the whole capture.
 */
export type PartitionKey = string; // `${topic}:${partition}`

export const partitionKey = (topic: string, partition: number): PartitionKey => `${topic}:${partition}`;
const topicOf = (key: PartitionKey): string => key.slice(0, key.lastIndexOf(":"));

export interface Watermark {
  lsn: bigint;
  /** Source commit time of the event that carried `lsn` (µs since the epoch). */
  commitTsUs: bigint;
  /** When it was published (ms since the epoch). */
  publishedAt: number;
}

interface Candidate {
  lsn: bigint;
  commitTsUs: bigint;
  high: Map<PartitionKey, bigint>;
}

export class WatermarkTracker {
  private maxLsn = -1n;
  private maxLsnTs = 0n;
  private readonly candidates: Candidate[] = [];
  private published: Watermark | undefined;
  private readonly publishedByTopic = new Map<string, Watermark>();

  constructor(
    private readonly maxCandidates = 64,
    private readonly applied = new Map<PartitionKey, bigint>(),
  ) {}

  /**
   * A tracker of another source clock over the same applied offsets (a binlog connector's beats,
   * src/projector/binlog-clock.ts): its candidates are that clock's positions, paired the same way.
   */
  sibling(): WatermarkTracker {
    return new WatermarkTracker(this.maxCandidates, this.applied);
  }

  /** Events up to `nextOffset - 1` on this partition are applied; `lsn` is the highest among them (if any). */
  recordApplied(key: PartitionKey, nextOffset: bigint, lsn?: bigint, commitTsUs?: bigint): void {
    const prev = this.applied.get(key);
    if (prev === undefined || nextOffset > prev) this.applied.set(key, nextOffset);
    if (lsn !== undefined && lsn > this.maxLsn) {
      this.maxLsn = lsn;
      this.maxLsnTs = commitTsUs ?? 0n;
    }
  }

  /** What partitions are known to be applied up to (e.g. committed offsets of the group at start). */
  seedApplied(key: PartitionKey, nextOffset: bigint): void {
    this.recordApplied(key, nextOffset);
  }

  appliedOffset(key: PartitionKey): bigint | undefined {
    return this.applied.get(key);
  }

  /** Step 1 of a tick: the L to pair with high watermarks fetched after this call. */
  snapshotLsn(): { lsn: bigint; commitTsUs: bigint } | undefined {
    return this.maxLsn < 0n ? undefined : { lsn: this.maxLsn, commitTsUs: this.maxLsnTs };
  }

  /** Step 2: the high watermarks fetched after snapshotLsn(). */
  addCandidate(l: { lsn: bigint; commitTsUs: bigint }, high: Map<PartitionKey, bigint>): void {
    if (this.published && l.lsn <= this.published.lsn) return;
    const last = this.candidates[this.candidates.length - 1];
    if (last && last.lsn >= l.lsn) return;
    const c = { lsn: l.lsn, commitTsUs: l.commitTsUs, high };
    // Full (a slow topic holds the global watermark back): the newest pairing replaces the last
    // one, so the topics that keep up still advance; the older ones publish first globally.
    if (this.candidates.length >= this.maxCandidates) this.candidates[this.candidates.length - 1] = c;
    else this.candidates.push(c);
  }

  /** True when `lsn` is already published or paired with high watermarks (a newer candidate adds nothing). */
  hasCandidateFor(lsn: bigint): boolean {
    if (this.published && lsn <= this.published.lsn) return true;
    const last = this.candidates[this.candidates.length - 1];
    return last !== undefined && last.lsn >= lsn;
  }

  /** Step 3: publishes the newest candidate whose partitions are all applied up to H (per topic too). */
  evaluate(now = Date.now()): Watermark | undefined {
    let idx = -1;
    for (let i = 0; i < this.candidates.length; i++) {
      const c = this.candidates[i] as Candidate;
      const { topics, behind } = this.progressOf(c);
      if (behind.size === 0) idx = i;
      for (const topic of topics) {
        if (behind.has(topic)) continue;
        const prev = this.publishedByTopic.get(topic);
        if (!prev || c.lsn > prev.lsn)
          this.publishedByTopic.set(topic, { lsn: c.lsn, commitTsUs: c.commitTsUs, publishedAt: now });
      }
    }
    if (idx >= 0) {
      const c = this.candidates[idx] as Candidate;
      this.candidates.splice(0, idx + 1);
      if (!this.published || c.lsn > this.published.lsn) {
        this.published = { lsn: c.lsn, commitTsUs: c.commitTsUs, publishedAt: now };
      }
    }
    return this.published;
  }

  /** The candidate's topics, and those with a partition not yet applied up to H (one pass). */
  private progressOf(c: Candidate): { topics: Set<string>; behind: Set<string> } {
    const topics = new Set<string>();
    const behind = new Set<string>();
    for (const [key, high] of c.high) {
      const topic = topicOf(key);
      topics.add(topic);
      if (high <= 0n) continue;
      const applied = this.applied.get(key);
      if (applied === undefined || applied < high) behind.add(topic);
    }
    return { topics, behind };
  }

  current(): Watermark | undefined {
    return this.published;
  }

  /**
   * The watermark for reads of these topics only: the lowest of their own watermarks, each at
   * least the global one. No topics, or a topic never paired yet: the global watermark.
   */
  currentFor(topics: Iterable<string>): Watermark | undefined {
    return lowestWatermark(topics, (t) => this.publishedByTopic.get(t), this.published);
  }

  pendingCandidates(): number {
    return this.candidates.length;
  }
}
