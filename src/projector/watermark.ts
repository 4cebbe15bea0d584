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
 */
export type PartitionKey = string; // `${topic}:${partition}`

export const partitionKey = (topic: string, partition: number): PartitionKey => `${topic}:${partition}`;

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
  private readonly applied = new Map<PartitionKey, bigint>();
  private readonly candidates: Candidate[] = [];
  private published: Watermark | undefined;

  constructor(private readonly maxCandidates = 64) {}

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
    if (this.candidates.length >= this.maxCandidates) return; // the older ones publish first; retry later
    this.candidates.push({ lsn: l.lsn, commitTsUs: l.commitTsUs, high });
  }

  /** True when `lsn` is already published or paired with high watermarks (a newer candidate adds nothing). */
  hasCandidateFor(lsn: bigint): boolean {
    if (this.published && lsn <= this.published.lsn) return true;
    const last = this.candidates[this.candidates.length - 1];
    return last !== undefined && last.lsn >= lsn;
  }

  /** Step 3: publishes the newest candidate whose partitions are all applied up to H. */
  evaluate(now = Date.now()): Watermark | undefined {
    let idx = -1;
    for (let i = 0; i < this.candidates.length; i++) {
      const c = this.candidates[i] as Candidate;
      if (this.satisfied(c)) idx = i;
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

  private satisfied(c: Candidate): boolean {
    for (const [key, high] of c.high) {
      if (high <= 0n) continue;
      const applied = this.applied.get(key);
      if (applied === undefined || applied < high) return false;
    }
    return true;
  }

  current(): Watermark | undefined {
    return this.published;
  }

  pendingCandidates(): number {
    return this.candidates.length;
  }
}
