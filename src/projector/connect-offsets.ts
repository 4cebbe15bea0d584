import type { Admin, Consumer, Kafka } from "kafkajs";
import { binlogVersion } from "../cdc/binlog-version.js";
import { ConnectClient } from "../connect/connect-client.js";
import type { Logger } from "../shared/logger.js";

/**
 * How far Debezium has durably produced, read from Kafka Connect's offsets topic.
 *
 * Connect commits a source offset only once every record before it has been acked by
 * Kafka. Debezium's Postgres offset carries `lsn_proc`, the WAL position of the last
 * change it processed. A write's token is pg_current_wal_insert_lsn() after its COMMIT;
 * a change at lsn_proc ≥ token belongs to a transaction that began after that commit, and
 * Debezium streams transactions in commit order, so every event of the write is already
 * in Kafka. The order of records across topics is not kept by the producer (one batch per
 * partition per request), which is why the projector must not infer this from the LSNs of
 * events it happens to have consumed.
 */
export interface SourcePosition {
  lsn: bigint;
  /** Source commit time of that position (µs since the epoch). */
  commitTsUs: bigint;
}

/**
 * A MySQL/MariaDB connector's offset: the binlog file and position it has produced up to, as a
 * binlog version (src/cdc/binlog-version.ts). It carries no reliable time: its beats date it.
 */
export interface BinlogOffset {
  binlog: bigint;
}

/** One record of the offsets topic; `position` null: the offsets were deleted. */
export interface OffsetRecord {
  connector: string;
  server: string;
  position: SourcePosition | BinlogOffset | null;
}

export function parseOffsetRecord(key: Buffer | null, value: Buffer | null): OffsetRecord | undefined {
  if (!key) return undefined;
  let k: unknown;
  try {
    k = JSON.parse(key.toString());
  } catch {
    return undefined;
  }
  if (!Array.isArray(k) || typeof k[0] !== "string" || typeof k[1]?.server !== "string") return undefined;
  if (!value) return { connector: k[0], server: k[1].server, position: null }; // tombstone: offsets deleted
  try {
    const position = positionOf(JSON.parse(value.toString()));
    return position && { connector: k[0], server: k[1].server, position };
  } catch {
    return undefined;
  }
}

/** One entry of Connect's GET /connectors/<name>/offsets: the same partition and offset as a record of the topic. */
export function parseRestOffset(
  connector: string,
  entry: { partition?: { server?: unknown }; offset?: unknown },
): OffsetRecord | undefined {
  const server = entry.partition?.server;
  if (typeof server !== "string" || typeof entry.offset !== "object" || entry.offset === null) return undefined;
  const position = positionOf(entry.offset as Record<string, unknown>);
  return position && { connector, server, position };
}

function positionOf(v: Record<string, unknown>): SourcePosition | BinlogOffset | undefined {
  if (typeof v.file === "string") return { binlog: binlogVersion({ ...v, row: 0 }) };
  const lsn = v.lsn_proc ?? v.lsn;
  if (typeof lsn !== "number" && typeof lsn !== "string") return undefined;
  const ts = typeof v.ts_usec === "number" || typeof v.ts_usec === "string" ? BigInt(v.ts_usec) : 0n;
  return { lsn: BigInt(lsn), commitTsUs: ts };
}

export class ConnectOffsets {
  private readonly positions = new Map<string, SourcePosition>();
  private readonly binlogs = new Map<string, bigint>();
  private consumer: Consumer | undefined;

  /**
   * `onAdvance` runs after each offset record of this server: the projector pairs a new position
   * with high watermarks right away instead of waiting for its next timer tick. With `connectUrl`,
   * the positions are first read from Connect's REST API and the topic from its end (see start()).
   */
  constructor(
    private readonly kafka: Kafka,
    private readonly opts: {
      topic: string;
      server: string;
      groupId: string;
      onAdvance?: () => void;
      connectUrl?: string;
      admin?: () => Admin;
    },
    private readonly log: Logger,
  ) {}

  apply(record: OffsetRecord | undefined): void {
    if (!record || record.server !== this.opts.server) return;
    const { connector, position } = record;
    if (position === null) {
      this.positions.delete(connector);
      this.binlogs.delete(connector);
    } else if ("binlog" in position) this.binlogs.set(connector, position.binlog);
    else this.positions.set(connector, position);
    this.opts.onAdvance?.();
  }

  /**
   * The position every connector of this topic prefix has reached (the lowest of them:
   * a token may belong to any of their databases). Undefined before the first offset.
   */
  current(): SourcePosition | undefined {
    let low: SourcePosition | undefined;
    for (const p of this.positions.values()) if (!low || p.lsn < low.lsn) low = p;
    return low;
  }

  /** Each MySQL/MariaDB connector of this topic prefix and the binlog version it has produced up to. */
  binlogConnectors(): ReadonlyMap<string, bigint> {
    return this.binlogs;
  }

  /**
   * Follows the offsets topic. Reading it from the start costs every projector start about 12 µs
   * of CPU per record (a day-old stack's topic held 150,000: 3 s before the first batch), because
   * partitions nobody writes to any more are never compacted. Connect keeps the latest offset of
   * each connector, so they are read from it and the topic from the ends it had before that read:
   * no record is missed, and a record older than the REST answer only pairs an older position
   * (watermark.ts ignores a candidate below the last one). Without Connect, the whole topic is read.
   */
  async start(): Promise<void> {
    const ends = await this.seedFromConnect().catch((err) => {
      this.log.warn(
        { err: (err as Error).message },
        "Kafka Connect's offsets could not be read over REST; reading its offsets topic from the start",
      );
      return undefined;
    });
    // A throwaway group that never commits.
    const consumer = this.kafka.consumer({ groupId: this.opts.groupId, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.opts.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => this.apply(parseOffsetRecord(message.key, message.value)),
    });
    for (const { partition, offset } of ends ?? []) consumer.seek({ topic: this.opts.topic, partition, offset });
    this.consumer = consumer;
    this.log.info(
      { topic: this.opts.topic, server: this.opts.server, from: ends ? "end" : "start" },
      "following Kafka Connect's source offsets",
    );
  }

  /** Each connector's offsets from Connect's REST API; returns the topic's ends read before them. */
  private async seedFromConnect(): Promise<{ partition: number; offset: string }[] | undefined> {
    const { connectUrl, admin } = this.opts;
    if (!connectUrl || !admin) return undefined;
    const ends = (await admin().fetchTopicOffsets(this.opts.topic)).map((p) => ({
      partition: p.partition,
      offset: p.high,
    }));
    const connect = new ConnectClient(connectUrl);
    const names = await connect.listConnectors();
    const offsets = await Promise.all(names.map(async (name) => ({ name, entries: await connect.offsets(name) })));
    for (const { name, entries } of offsets) for (const e of entries) this.apply(parseRestOffset(name, e));
    return ends;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
