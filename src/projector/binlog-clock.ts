import type { Beat } from "../cdc/internal.js";
import type { PartitionKey, Watermark, WatermarkTracker } from "./watermark.js";

/**
 * How fresh the tables of each MySQL/MariaDB connector are. Postgres tables are dated by the WAL
 * watermark (watermark.ts); a binlog offset carries no time, so the connector's beats date it.
 *
 * Every half second the connector's heartbeat writes a beat into the source (src/mysql/connector.ts):
 * its name and the server's UTC time, at some binlog version. Every transaction committed before
 * that statement ran is earlier in the binlog. Per connector, each tick pairs:
 *   L = its committed binlog offset: every event below it is in Kafka (connect-offsets.ts);
 *   T = the time of its newest beat below L (beats are consumed like any event);
 *   H = high watermarks of its topics, fetched after L was read.
 * Once those partitions are applied up to H, every change committed before T is in ClickHouse,
 * so T is the commit time its tables' freshness shows (1.5–2 s old on an idle server). The pairing is
 * the WAL watermark's own (a sibling WatermarkTracker whose positions are the times T).
 */
export class BinlogClocks {
  private readonly beats = new Map<string, { version: bigint; timeUs: bigint }[]>();
  private readonly trackers = new Map<string, WatermarkTracker>();
  private readonly topicsOf = new Map<string, ReadonlySet<string>>();
  private readonly topicsAt = new Map<string, number>();

  constructor(
    private readonly wal: WatermarkTracker,
    private readonly topicRefreshMs = 10_000,
  ) {}

  /**
   * One tick for each binlog connector (its offset from connect-offsets.ts): learn its topics when
   * new or stale, then pair L, T and H. `io.high` returns the high watermarks of the topics (and
   * seeds what other group members applied, as the WAL tick does).
   */
  async tick(
    offsets: ReadonlyMap<string, bigint>,
    io: {
      /** The connector's table topics; undefined: there is no such connector (deleted, its offsets left). */
      topics(connector: string): Promise<string[] | undefined>;
      high(topics: string[]): Promise<Map<PartitionKey, bigint>>;
    },
    now = Date.now(),
  ): Promise<void> {
    this.retain(offsets.keys());
    const failures: Error[] = [];
    for (const [connector, offset] of offsets) {
      try {
        const known = this.topicsAt.get(connector);
        if (known === undefined || now - known >= this.topicRefreshMs) {
          // A connector deleted with its offsets left behind has no topics: it dates nothing.
          this.setTopics(connector, (await io.topics(connector)) ?? []);
          this.topicsAt.set(connector, now);
        }
        const d = this.due(connector, offset);
        if (d && d.topics.length > 0) this.addCandidate(connector, d.time, await io.high(d.topics));
      } catch (err) {
        failures.push(err as Error); // one connector's trouble does not hold the others back
      }
    }
    this.evaluate(now);
    if (failures.length > 0) throw failures[0];
  }

  recordBeat(b: Beat): void {
    let list = this.beats.get(b.connector);
    if (!list) {
      list = [];
      this.beats.set(b.connector, list);
    }
    // In binlog order on the beat topic's one partition; a replay (or a second connector of the
    // same server capturing the same beat) re-sends older versions.
    const last = list[list.length - 1];
    if (last && b.version <= last.version) return;
    list.push({ version: b.version, timeUs: b.timeUs });
    if (list.length > 10_000) list.splice(0, list.length - 10_000);
  }

  /** The time of the connector's newest beat below `offset`; the beats before it go (offsets only grow). */
  timeBelow(connector: string, offset: bigint): bigint | undefined {
    const list = this.beats.get(connector) ?? [];
    let i = -1;
    while (i + 1 < list.length && (list[i + 1] as { version: bigint }).version < offset) i++;
    if (i < 0) return undefined;
    list.splice(0, i);
    return list[0]?.timeUs;
  }

  /** The connector's topics (Kafka Connect's active topics of the connector). */
  setTopics(connector: string, topics: Iterable<string>): void {
    this.topicsOf.set(connector, new Set(topics));
  }

  /** Asks Kafka Connect for every connector's topics at the next tick (new topics were subscribed). */
  relearnTopics(): void {
    this.topicsAt.clear();
  }

  /** Connectors whose offsets are gone (detached) stop dating anything. */
  retain(connectors: Iterable<string>): void {
    const keep = new Set(connectors);
    for (const c of [...this.topicsOf.keys(), ...this.trackers.keys()])
      if (!keep.has(c)) {
        this.topicsOf.delete(c);
        this.topicsAt.delete(c);
        this.trackers.delete(c);
      }
  }

  /** Steps L and T of a tick: the time to pair and the topics to fetch H for; undefined when nothing is new. */
  due(connector: string, offset: bigint): { time: bigint; topics: string[] } | undefined {
    const time = this.timeBelow(connector, offset);
    const topics = this.topicsOf.get(connector);
    if (time === undefined || !topics || this.tracker(connector).hasCandidateFor(time)) return undefined;
    return { time, topics: [...topics] };
  }

  /** Step H: the high watermarks fetched after `due`. */
  addCandidate(connector: string, time: bigint, high: Map<PartitionKey, bigint>): void {
    this.tracker(connector).addCandidate({ lsn: time, commitTsUs: time }, high);
  }

  evaluate(now = Date.now()): void {
    for (const t of this.trackers.values()) t.evaluate(now);
  }

  /** A binlog topic's clock (null: not dated yet); undefined when no binlog connector writes the topic. */
  clockOf(topic: string): Watermark | null | undefined {
    for (const [connector, topics] of this.topicsOf)
      if (topics.has(topic)) return this.trackers.get(connector)?.currentFor([topic]) ?? null;
    return undefined;
  }

  /** Every connector's clock (for a read of every table); a connector with no topic dates nothing. */
  all(): (Watermark | null)[] {
    return [...this.topicsOf]
      .filter(([, topics]) => topics.size > 0)
      .map(([c]) => this.trackers.get(c)?.current() ?? null);
  }

  /**
   * The freshness of reads of these topics (none: of every table): the WAL watermark's position,
   * which tokens wait for, dated by the oldest of it and the binlog clocks involved.
   */
  freshnessOf(list?: Iterable<string>): DatedWatermark | undefined {
    const wal = this.wal;
    if (!list) return datedWatermark(wal.current(), this.all(), wal.current() !== undefined);
    const topics = [...list];
    const dated: (Watermark | null)[] = [];
    let walTables = false;
    for (const t of topics) {
      const clock = this.clockOf(t);
      if (clock === undefined) walTables = true;
      else dated.push(clock);
    }
    return datedWatermark(wal.currentFor(topics), dated, walTables);
  }

  private tracker(connector: string): WatermarkTracker {
    let t = this.trackers.get(connector);
    if (!t) {
      t = this.wal.sibling();
      this.trackers.set(connector, t);
    }
    return t;
  }
}

/** A watermark with where its time comes from: `ownClock` when a binlog clock dates it. */
export type DatedWatermark = Watermark & { ownClock?: boolean };

/**
 * A read's freshness: the WAL watermark's position (what tokens wait for; 0 when there is none,
 * a MySQL-only read) and the oldest time among the WAL watermark (when Postgres tables are read)
 * and the binlog clocks involved. A clock not dated yet makes the time unknown (0).
 */
export function datedWatermark(
  wal: Watermark | undefined,
  clocks: (Watermark | null)[],
  walTables: boolean,
): DatedWatermark | undefined {
  if (clocks.length === 0) return wal;
  if (walTables && !wal) return undefined;
  const parts = walTables && wal ? [wal, ...clocks] : clocks;
  let time: bigint | undefined;
  let at = 0;
  for (const p of parts) {
    const t = p?.commitTsUs ?? 0n;
    if (time === undefined || t < time) time = t;
    if (p && p.publishedAt > at) at = p.publishedAt;
  }
  return { lsn: wal?.lsn ?? 0n, commitTsUs: time ?? 0n, publishedAt: at || (wal?.publishedAt ?? 0), ownClock: true };
}
