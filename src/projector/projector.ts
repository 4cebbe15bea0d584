import { randomUUID } from "node:crypto";
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from "kafkajs";
import type { Registry } from "prom-client";
import type { TableShape } from "../cdc/table.js";
import { targetTableName } from "../cdc/table.js";
import { type ClickHouse, openClickHouse } from "../clickhouse/client.js";
import type { Config } from "../shared/config.js";
import { createKafka } from "../shared/kafka.js";
import { createLogger, type Logger } from "../shared/logger.js";
import { formatLsn } from "../shared/lsn.js";
import { rereadFromSource } from "../snapshot/reread.js";
import { type ShapeSource, shapeFromSource } from "./batch-decode.js";
import { BinlogClocks, type DatedWatermark } from "./binlog-clock.js";
import { ControlListener } from "./control.js";
import { PartDoctor } from "./damaged-parts.js";
import { tableWatermarkRow, WATERMARK_ROW } from "./ddl.js";
import { DeadLetters, type Poison } from "./dead-letter.js";
import { DecodeWorker } from "./decode-worker.js";
import { type ProjectorMetrics, projectorMetrics } from "./metrics.js";
import { reachVia } from "./pipeline-sources.js";
import { ProgressWriter } from "./progress-writer.js";
import { Abandoned, Retrier } from "./retry.js";
import { RowLines } from "./row-lines.js";
import { SchemaTopic } from "./schema-topic.js";
import { ClickHouseSink } from "./sink.js";
import { seedStartPositions } from "./start-positions.js";
import { type Degradation, TableHealth } from "./table-health.js";
import { type TableBatch, TableWriter } from "./table-writer.js";
import { capturedTopics } from "./topics.js";
import { partitionKey, type Watermark, WatermarkTracker } from "./watermark.js";
import { WatermarkTicks } from "./watermark-ticks.js";

export interface ProjectorDeps {
  log?: Logger;
  /** An open ClickHouse client (the read role shares it with embedded chDB); opened from CLICKHOUSE_URL if absent. */
  clickhouse?: ClickHouse;
  kafka?: Kafka;
  registry?: Registry;
}

export interface PublishedWatermark {
  /** Every change with source LSN ≤ lsn (and every write whose token ≤ lsn) is in ClickHouse. */
  lsn: bigint;
  lsnText: string;
  /** Source commit time of the event that carried lsn. */
  commitTs: Date;
  commitTsUs: bigint;
  publishedAt: Date;
}

export interface Projector {
  /** Stops consuming; an in-flight batch is finished or abandoned uncommitted; closes what it opened. */
  stop(): Promise<void>;
  /** The published consistency watermark, undefined until the first one. */
  watermark(): PublishedWatermark | undefined;
  /**
   * The watermark for reads of these projected tables only (the topics they come from); the
   * global one for a table whose topic this process has not consumed yet.
   */
  watermarkFor(targets: readonly string[]): PublishedWatermark | undefined;
  /** Joined the consumer group with its topics, ClickHouse schema in place. */
  ready(): boolean;
  /** False once the consumer crashed for good. */
  healthy(): boolean;
  /** Resolves once the watermark reaches `lsn` (or rejects after timeoutMs). */
  waitForLsn(lsn: bigint, timeoutMs?: number): Promise<PublishedWatermark>;
  /** Projected tables marked degraded (see table-health.ts). */
  degraded(): Degradation[];
  /** Marks a projected table degraded from outside the stream (a lost replication slot). */
  markDegraded(target: string, source: string, reason: string): void;
}

/**
 * Batches of one partition in flight behind the one kafkajs is fetching: one in the decode
 * worker, one being stored. With 1, fetching waited for the previous insert and both threads
 * idled a third of the time.
 */
const PIPELINE_DEPTH = 2;

/** A fetch returns once this much is ready, or after PROJECTOR_FETCH_WAIT_MS (see startConsumer). */
export const FETCH_MIN_BYTES = 1024 * 1024;

interface Lane {
  tail: Promise<void>;
  links: Promise<void>[];
  /** Next offset committed by this lane (where to re-read from after a failure). */
  committed: bigint;
  failed?: Error;
}

/**
 * Starts the projector role: a kafkajs consumer group over the Debezium topics, projecting every
 * captured table into ClickHouse (see docs in src/cdc/types.ts and src/projector/ddl.ts).
 */
export async function startProjector(config: Config, deps: ProjectorDeps = {}): Promise<Projector> {
  const log = (deps.log ?? createLogger(config.LOG_LEVEL)).child({ role: "project" });
  const ownsClickHouse = !deps.clickhouse;
  const ch = deps.clickhouse ?? (await openClickHouse(config.CLICKHOUSE_URL));
  const kafka = deps.kafka ?? createKafka(config.KAFKA_BROKERS, "cqrs-sidecar-projector", log);
  const tracker = new WatermarkTracker();
  const clocks = new BinlogClocks(tracker);
  let lastCommitTsUs: bigint | undefined;
  let sourceOffsetTsUs = (): bigint | undefined => undefined;
  const metrics: ProjectorMetrics = projectorMetrics(deps.registry, {
    lastCommitTsUs: () => lastCommitTsUs,
    sourceOffsetTsUs: () => sourceOffsetTsUs(), // set once Connect's offsets are followed
    watermarkTsUs: () => tracker.current()?.commitTsUs,
  });
  const sink = new ClickHouseSink(
    ch,
    { database: config.CLICKHOUSE_DATABASE, cluster: config.CLICKHOUSE_CLUSTER },
    log,
  );

  let stopping = false;
  let isReady = false;
  let isHealthy = true;
  let topics: string[] = [];
  let consumer: Consumer | undefined;
  // Replaced when topics disappear: kafkajs keeps every topic it was asked about in its metadata
  // requests, and one deleted topic then fails them all ("does not host this topic-partition").
  let admin: Admin = kafka.admin();
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false });
  const shapes = new Map<string, TableShape>(); // keyed by table and source schema
  const lanes = new Map<string, Lane>();
  const waiters = new Set<{ lsn: bigint; resolve: (w: PublishedWatermark) => void }>();
  const retrier = new Retrier(log, config.PROJECTOR_MAX_BACKOFF_MS, (stage) => metrics.retries.inc({ stage }));
  /** Infrastructure steps (connecting, committing): nothing to set aside, retried while wanted. */
  const retry = <T>(stage: string, fn: () => Promise<T>, alive: () => boolean, beat?: () => Promise<void>) =>
    retrier.run(stage, fn, { alive, beat, deterministicAttempts: Number.POSITIVE_INFINITY });
  const health = new TableHealth(
    { load: () => sink.loadHealth(), save: (entries) => sink.saveHealth(entries) },
    log,
    (target, degraded) => metrics.degradedTables.set({ table: target }, degraded ? 1 : 0),
  );
  // After a disk-full episode, parts written damaged are detached and their tables read again.
  const doctor = new PartDoctor({
    ch,
    database: config.CLICKHOUSE_DATABASE,
    health,
    log,
    sourceOf: (target) => sink.sourceOf(target),
    reread: (_target, source) =>
      rereadFromSource(
        {
          connectUrl: config.KAFKA_CONNECT_URL,
          reach: reachVia(config.DATABASE_URL, config.CONNECT_DATABASE_URL),
          sink,
          database: config.CLICKHOUSE_DATABASE,
        },
        source,
      ),
  });
  sink.onDiskBack = (since) => doctor.schedule(since);
  const writer = new TableWriter(sink, retrier, health, config.PROJECTOR_MAX_ATTEMPTS, (target, n) =>
    metrics.rowsInserted.inc({ table: target }, n),
  );
  const deadLetters = new DeadLetters(producer, config.DLQ_TOPIC, retrier, log, (kind) =>
    metrics.dlq.inc({ reason: kind }),
  );
  const progress = new ProgressWriter({ watermark: WATERMARK_ROW, tableWatermark: tableWatermarkRow }, (entries) =>
    sink.writeProgress(entries, BigInt(Date.now()) * 1000n),
  );

  const published = (w: Watermark | undefined): PublishedWatermark | undefined =>
    w && {
      lsn: w.lsn,
      lsnText: formatLsn(w.lsn),
      commitTsUs: w.commitTsUs,
      commitTs: new Date(Number(w.commitTsUs / 1000n)),
      publishedAt: new Date(w.publishedAt),
    };

  /** Projected table → the topics its rows came from (seen in batches). */
  const topicsOfTarget = new Map<string, Set<string>>();

  const evaluate = () => {
    const w = published(tracker.evaluate());
    if (!w) return;
    metrics.watermarkLsn.set(Number(w.lsn));
    for (const waiter of waiters) {
      if (w.lsn >= waiter.lsn) {
        waiters.delete(waiter);
        waiter.resolve(w);
      }
    }
  };

  const decoder = new DecodeWorker(log, (bytes) => metrics.decodeHeap.set(bytes));
  decoder.warm(); // loads while ClickHouse and Kafka are set up below
  const shapeOf = (src: ShapeSource): TableShape => {
    const key = `${src.schema}.${src.table}|${JSON.stringify([src.rowSchema, src.keySchema])}`;
    let shape = shapes.get(key);
    if (!shape) {
      shape = shapeFromSource(src);
      if (shapes.size > 10_000) shapes.clear();
      shapes.set(key, shape);
    }
    return shape;
  };

  /**
   * Stores a decoded batch table by table; returns the messages set aside (decode poison, and the
   * messages of a table whose step kept failing), each table concerned marked degraded.
   */
  const storeBatch = async (
    d: Awaited<ReturnType<DecodeWorker["decode"]>>,
    tables: TableBatch[],
    live: { alive: () => boolean; beat: () => Promise<void> },
  ): Promise<{ index: number; kind: Poison["kind"]; reason: string }[]> => {
    const setAside: { index: number; kind: Poison["kind"]; reason: string }[] = [...d.poison];
    for (const p of d.poison)
      if (p.source) {
        const target = targetTableName(p.source.schema, p.source.table);
        health.mark(target, `${p.source.schema}.${p.source.table}`, `an event was set aside: ${p.reason}`);
      }
    for (const tb of tables) setAside.push(...(await writer.store(tb, live)));
    for (const t of d.truncatesWithoutShape) {
      const target = targetTableName(t.schema, t.table);
      setAside.push(...(await writer.storeTruncates(target, `${t.schema}.${t.table}`, [t], live)));
    }
    return setAside;
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    const { topic, partition, messages } = batch;
    if (messages.length === 0) return;
    const started = performance.now();
    const alive = () => !stopping && isRunning() && !isStale();
    const laneKey = partitionKey(topic, partition);
    let lane = lanes.get(laneKey);
    if (!lane) {
      // A new lane starts where this batch starts: the group's committed offset.
      lane = { tail: Promise.resolve(), links: [], committed: BigInt(batch.firstOffset() ?? "0") };
      lanes.set(laneKey, lane);
    }
    if (lane.failed) {
      // A stored batch failed after kafkajs had already moved on: go back to what is committed.
      await lane.tail;
      log.warn(
        { topic, partition, offset: String(lane.committed), err: lane.failed.message },
        "re-reading from the last committed offset",
      );
      lanes.delete(laneKey);
      if (!stopping) (consumer as Consumer).seek({ topic, partition, offset: lane.committed.toString() });
      return;
    }
    // Decoding runs in the decode worker while kafkajs fetches the next batch and the previous
    // one is stored; the lane awaits it.
    const decoding = decoder.decode(messages, (ids) => schemaTopic.lookup(ids));
    decoding.catch(() => undefined); // a failure surfaces in apply(), in the lane
    const last = messages[messages.length - 1] as KafkaMessage;
    const next = BigInt(last.offset) + 1n;

    /** Stores the decoded batch, then commits its offsets: runs in the partition's lane, in order. */
    const apply = async () => {
      const d = await decoding;
      const tDecoded = performance.now();
      for (const [op, n] of Object.entries(d.opCounts)) metrics.events.inc({ topic, op }, n);
      if (!alive()) throw new Abandoned("stopping");
      const { maxLsn, maxTs } = d;
      for (const b of d.beats ?? []) clocks.recordBeat(b);
      const tables: (TableBatch & { maxLsn?: bigint })[] = d.tables.map((t) => {
        const all = t.shapes.map(shapeOf);
        const { body, indexes } = t.lines; // views of buffers the decode worker transferred
        return {
          shape: all[all.length - 1] as TableShape,
          shapes: new Set(all),
          lines: new RowLines(Buffer.from(body.buffer, body.byteOffset, body.byteLength), indexes),
          toast: t.toast,
          maxLsn: t.maxLsn,
          truncates: t.truncates,
          indexes: t.indexes,
        };
      });
      const tStart = performance.now();
      const setAside = await storeBatch(d, tables, { alive, beat: heartbeat });
      await deadLetters.send(
        { topic, partition },
        setAside.map((s) => ({ message: messages[s.index] as KafkaMessage, kind: s.kind, reason: s.reason })),
        alive,
        heartbeat,
      );
      const tStored = performance.now();
      for (const tb of tables) {
        const seen = topicsOfTarget.get(tb.shape.target) ?? new Set<string>();
        topicsOfTarget.set(tb.shape.target, seen.add(topic));
      }
      // Stored is visible: the watermark may pass these offsets before Kafka hears of the commit.
      tracker.recordApplied(partitionKey(topic, partition), next, maxLsn, maxTs);
      evaluate();
      if (!alive()) throw new Abandoned("stopping");
      await retry(
        "commit",
        () => (consumer as Consumer).commitOffsets([{ topic, partition, offset: next.toString() }]),
        alive,
        heartbeat,
      );
      lane.committed = next;
      const tCommitted = performance.now();
      log.debug(
        {
          topic,
          partition,
          messages: messages.length,
          decodeMs: tDecoded - started,
          storeMs: tStored - tStart,
          commitMs: tCommitted - tStored,
        },
        "batch applied",
      );
      if (maxTs !== undefined && (lastCommitTsUs === undefined || maxTs > lastCommitTsUs)) lastCommitTsUs = maxTs;
      for (const tb of tables) {
        let lsn = tb.maxLsn ?? -1n;
        for (const t of tb.truncates) if (t.lsn > lsn) lsn = t.lsn;
        if (lsn >= 0n) progress.recordStored(tb.shape.target, `${tb.shape.schema}.${tb.shape.table}`, lsn, maxTs ?? 0n);
      }
      metrics.batchSize.observe(messages.length);
      metrics.batchSeconds.observe((tCommitted - started) / 1000);
      const high = BigInt(batch.highWatermark);
      metrics.consumerLag.set({ topic, partition: String(partition) }, Number(high > next ? high - next : 0n));
    };

    // Pipelining: resolving the offset lets kafkajs fetch (and this function decode) the next batch
    // while this one is stored. The Kafka commit still follows the store, in order, per partition;
    // at most PIPELINE_DEPTH stored-but-not-yet-finished batches wait behind each other.
    const link = lane.tail.then(async () => {
      if (lane.failed) return;
      try {
        await apply();
      } catch (err) {
        lane.failed = err instanceof Abandoned ? new Error("batch abandoned") : (err as Error);
      }
    });
    lane.tail = link;
    lane.links.push(link);
    resolveOffset(last.offset);
    while (lane.links.length > PIPELINE_DEPTH) {
      await lane.links.shift();
      await heartbeat().catch(() => undefined);
    }
  };

  const discoverTopics = async (): Promise<string[]> =>
    capturedTopics(
      config.PROJECTOR_TOPICS.length > 0 ? [] : await admin.listTopics(),
      config.TOPIC_PREFIX,
      config.DLQ_TOPIC,
      config.PROJECTOR_TOPICS,
    );

  const startConsumer = async (list: string[], fromStart: { topic: string; partition: number; offset: string }[]) => {
    const c = kafka.consumer({
      groupId: config.PROJECTOR_GROUP,
      maxBytesPerPartition: config.PROJECTOR_MAX_BATCH_BYTES,
      maxBytes: config.PROJECTOR_MAX_BATCH_BYTES * 4,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: config.PROJECTOR_FETCH_WAIT_MS,
      // Without a minimum a fetch returns with the first change to arrive: at 200 commands/s that
      // was 85 inserts/s of 10 rows, each a ClickHouse part to write and merge (project+read used
      // a whole core). Waiting for 1 MiB or the wait above turns them into one insert per table.
      minBytes: FETCH_MIN_BYTES,
      // A topic deleted while consumed (detach deletes an attachment's topics) must stay deleted:
      // the consumer's metadata requests would otherwise create it again on a broker that allows it.
      allowAutoTopicCreation: false,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: config.PROJECTOR_MAX_BACKOFF_MS },
    });
    c.on(c.events.GROUP_JOIN, () => {
      isReady = true;
    });
    c.on(c.events.CRASH, (e) => {
      log.error({ err: e.payload.error?.message, restart: e.payload.restart }, "consumer crashed");
      if (!e.payload.restart) isHealthy = false;
    });
    try {
      await c.connect();
      await c.subscribe({ topics: list, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: config.PROJECTOR_CONCURRENCY,
        eachBatch,
      });
      for (const p of fromStart) c.seek(p);
    } catch (err) {
      // A consumer that did not start must not linger connected; the next refresh retries.
      await c.disconnect().catch(() => undefined);
      throw err;
    }
    consumer = c;
  };

  // Start-up: ClickHouse schema, Kafka clients, topics (waiting for the first), consumer.
  await retry(
    "clickhouse-init",
    async () => {
      await sink.init();
      await health.load();
    },
    () => !stopping,
  );
  await retry(
    "kafka-connect",
    async () => {
      await admin.connect();
      await producer.connect();
    },
    () => !stopping,
  );

  const schemaTopic = new SchemaTopic(
    kafka,
    () => admin,
    { topic: config.SCHEMA_TOPIC, groupId: `${config.PROJECTOR_GROUP}.schemas.${randomUUID()}` },
    log,
  );
  await retry(
    "schema-topic",
    () => schemaTopic.start(),
    () => !stopping,
  );

  // Candidate watermarks come from what Debezium has durably produced (Connect's committed
  // offsets), never from the LSNs of consumed events: see connect-offsets.ts for why.
  const ticks = new WatermarkTicks({
    kafka,
    admin: () => admin,
    config,
    tracker,
    clocks,
    subscribed: () => topics,
    discoverTopics,
    onNewTopics: () => scheduleRefresh(),
    evaluate,
    log,
  });
  sourceOffsetTsUs = () => ticks.offsets.current()?.commitTsUs;
  await retry(
    "connect-offsets",
    () => ticks.start(),
    () => !stopping,
  );

  const flushProgress = async () => {
    const perTable = [...topicsOfTarget].map(
      ([target, topics]) => [target, clocks.freshnessOf(topics)] as [string, DatedWatermark | undefined],
    );
    await progress.flush(clocks.freshnessOf(), perTable);
    await health.flush();
  };
  let flushBusy = false;
  const progressTimer = setInterval(() => {
    if (flushBusy) return;
    flushBusy = true;
    flushProgress()
      .catch((err) => log.warn({ err: (err as Error).message }, "progress write failed; will retry"))
      .finally(() => {
        flushBusy = false;
      });
  }, config.PROJECTOR_PROGRESS_INTERVAL_MS);

  let restarting: Promise<void> = Promise.resolve();
  const refreshTopics = async () => {
    const found = await discoverTopics();
    if (topics.some((t) => !found.includes(t))) {
      const fresh = kafka.admin();
      await fresh.connect();
      const old = admin;
      admin = fresh;
      await old.disconnect().catch(() => undefined);
    }
    // Without a running consumer (a failed restart) always start one, even for the same topics.
    if (found.length === 0 || (consumer && found.join(",") === topics.join(","))) return;
    log.info({ topics: found }, consumer ? "new topics found; resubscribing" : "subscribing");
    if (consumer) {
      isReady = false;
      await consumer.disconnect();
      await Promise.all([...lanes.values()].map((l) => l.tail));
      lanes.clear();
      consumer = undefined;
    }
    const fromStart = await seedStartPositions(admin, found, {
      group: config.PROJECTOR_GROUP,
      topicPrefix: config.TOPIC_PREFIX,
      tracker,
      health,
      log,
    });
    if (!stopping) await startConsumer(found, fromStart);
    topics = found;
    clocks.relearnTopics(); // a new topic may be a binlog connector's: its table is dated by its beats
    // A table whose topics are gone (detach deletes them) no longer holds per-table reads back.
    for (const [target, seen] of topicsOfTarget) {
      for (const t of seen) if (!found.includes(t)) seen.delete(t);
      if (seen.size === 0) topicsOfTarget.delete(target);
    }
  };
  let refreshQueued = false;
  function scheduleRefresh() {
    if (refreshQueued || stopping) return;
    refreshQueued = true;
    restarting = restarting
      .then(() => {
        refreshQueued = false;
        return stopping ? undefined : refreshTopics();
      })
      .catch((err) => log.warn({ err: (err as Error).message }, "topic refresh failed"));
  }
  await retry(
    "topics",
    async () => {
      await refreshTopics();
      if (topics.length === 0) throw new Error(`no topics yet with prefix ${config.TOPIC_PREFIX}.`);
    },
    () => !stopping,
  );
  const topicTimer = setInterval(() => scheduleRefresh(), 10_000);
  const control = new ControlListener(kafka, () => admin, producer, {
    topicPrefix: config.TOPIC_PREFIX,
    group: config.PROJECTOR_GROUP,
    sink,
    health,
    log,
    connectUrl: config.KAFKA_CONNECT_URL,
    database: config.CLICKHOUSE_DATABASE,
    refreshTopics: () => {
      scheduleRefresh();
      return restarting;
    },
  });
  await retry(
    "control",
    () => control.start(),
    () => !stopping,
  );
  log.info({ group: config.PROJECTOR_GROUP, topics, database: config.CLICKHOUSE_DATABASE }, "projector started");

  return {
    async stop() {
      if (stopping) return;
      stopping = true;
      await ticks.stop();
      await schemaTopic.stop();
      await control.stop();
      clearInterval(topicTimer);
      clearInterval(progressTimer);
      await restarting.catch(() => undefined);
      await consumer?.disconnect().catch((err) => log.warn({ err: (err as Error).message }, "consumer disconnect"));
      // Batches still being stored see `stopping` and are abandoned without a commit.
      await Promise.all([...lanes.values()].map((l) => l.tail));
      lanes.clear();
      await flushProgress().catch(() => undefined);
      await decoder.close().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      if (ownsClickHouse) await ch.close().catch(() => undefined);
      isReady = false;
      log.info("projector stopped");
    },
    watermark: () => published(clocks.freshnessOf()),
    watermarkFor(targets) {
      const topics = new Set<string>();
      for (const t of targets) {
        const seen = topicsOfTarget.get(t);
        if (!seen) return published(clocks.freshnessOf());
        for (const topic of seen) topics.add(topic);
      }
      return published(clocks.freshnessOf(topics));
    },
    ready: () => isReady && !stopping,
    degraded: () => health.list(),
    markDegraded: (target, source, reason) => health.mark(target, source, reason),
    healthy: () => isHealthy,
    waitForLsn(lsn, timeoutMs = 60_000) {
      const now = published(tracker.current());
      if (now && now.lsn >= lsn) return Promise.resolve(now);
      return new Promise((resolve, reject) => {
        const waiter = {
          lsn,
          resolve: (w: PublishedWatermark) => {
            clearTimeout(timer);
            resolve(w);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `watermark did not reach ${formatLsn(lsn)} within ${timeoutMs} ms (at ${published(tracker.current())?.lsnText ?? "none"})`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}
