import { randomUUID } from "node:crypto";
import type { Admin, Consumer, Kafka, Producer } from "kafkajs";
import { type ControlCommand, controlTopic, parseControl } from "../shared/control.js";
import type { Logger } from "../shared/logger.js";
import { snapshotInSidecar } from "../snapshot/control-job.js";
import { recordCopyHealth } from "../snapshot/copy-health.js";
import type { ClickHouseSink } from "./sink.js";
import type { TableHealth } from "./table-health.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `jobs` to end, calling `alive` every second meanwhile (the waiting CLI hears from us). */
async function waitWhileAlive(jobs: Promise<unknown>[], alive: () => Promise<unknown>): Promise<void> {
  if (!jobs.length) return;
  const timer = setInterval(() => void alive().catch(() => undefined), 1_000);
  try {
    await Promise.allSettled(jobs);
  } finally {
    clearInterval(timer);
  }
}

/**
 * The projector's end of the control topic (src/shared/control.ts): carries out commands from the
 * CLI against the ClickHouse this process holds, and answers each. Its own consumer group per
 * process, from the newest message: the sender resends until answered.
 */
export class ControlListener {
  private consumer: Consumer | undefined;
  private stopping = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: () => Admin,
    private readonly producer: Producer,
    private readonly deps: {
      topicPrefix: string;
      group: string;
      sink: ClickHouseSink;
      health: TableHealth;
      log: Logger;
      /** For the snapshot command: Kafka Connect (the connector's database settings) and the projection database. */
      connectUrl?: string;
      database?: string;
      /** Resubscribes to the topics that exist now (resolves when the consumer runs on them). */
      refreshTopics?: () => Promise<void>;
    },
  ) {}

  /** Snapshot jobs by command id: a resent command joins the running job or gets its answer again. */
  private readonly jobs = new Map<string, Promise<{ ok: boolean; detail: string }>>();

  async start(): Promise<void> {
    const topic = controlTopic(this.deps.topicPrefix);
    if (!(await this.admin().listTopics()).includes(topic))
      await this.admin()
        .createTopics({ topics: [{ topic, numPartitions: 1 }] })
        .catch(() => undefined);
    const c = this.kafka.consumer({ groupId: `${this.deps.group}.control.${randomUUID()}`, maxWaitTimeInMs: 200 });
    await c.connect();
    await c.subscribe({ topics: [topic], fromBeginning: false });
    await c.run({
      eachMessage: async ({ message }) => {
        const m = parseControl(message.value);
        if (!m || !("command" in m)) return;
        if (m.command.op === "snapshot" || m.command.op === "mysql-snapshot")
          return this.startSnapshot(m.id, m.command, topic);
        const answer = await this.handle(m.command).then(
          (detail) => ({ ok: true, detail }),
          (err: Error) => ({ ok: false, detail: err.message }),
        );
        this.deps.log.info({ op: m.command.op, ...answer }, "control command");
        await this.producer.send({ topic, messages: [{ value: JSON.stringify({ id: m.id, answer }) }] });
      },
    });
    this.consumer = c;
  }

  /** schema.table → the snapshot job copying it. */
  private readonly copying = new Map<string, Promise<unknown>>();

  /**
   * Runs a snapshot copy beside the consumer (minutes long: other commands go on), reporting
   * progress. A copy of a table waits for one still copying it (its CLI may have been killed and
   * the next attach started over): the older copy's rows must all be in before the newer one settles.
   */
  private startSnapshot(
    id: string,
    cmd: Extract<ControlCommand, { op: "snapshot" | "mysql-snapshot" }>,
    topic: string,
  ): void {
    const send = (value: unknown) =>
      this.producer.send({ topic, messages: [{ value: JSON.stringify({ id, ...(value as object) }) }] });
    const known = this.jobs.get(id);
    if (known) {
      void known.then((answer) => send({ answer })).catch(() => undefined);
      return;
    }
    const { connectUrl, database, sink, log, health } = this.deps;
    const tables = cmd.tables.map((t) => `${t.schema}.${t.table}`);
    const earlier = [...new Set(tables.map((t) => this.copying.get(t)).filter((j) => j !== undefined))];
    let startedAt = new Date();
    const job = waitWhileAlive(earlier, () => send({ progress: {} }))
      .then(() => {
        startedAt = new Date();
        return snapshotInSidecar(cmd, { connectUrl, database, sink }, (progress) => send({ progress }));
      })
      .then(
        async (result) => {
          await recordCopyHealth(result, startedAt, health);
          return { ok: true, detail: JSON.stringify(result) };
        },
        (err: Error) => ({ ok: false, detail: err.message }),
      );
    this.jobs.set(id, job);
    for (const t of tables) this.copying.set(t, job);
    void job.then(async (answer) => {
      for (const t of tables) if (this.copying.get(t) === job) this.copying.delete(t);
      log.info({ op: "snapshot", ok: answer.ok, tables: cmd.tables.length }, "control command");
      await send({ answer }).catch(() => undefined);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer?.disconnect().catch(() => undefined);
  }

  private async handle(cmd: ControlCommand): Promise<string> {
    const { sink, health } = this.deps;
    switch (cmd.op) {
      case "clear-degraded": {
        const cleared = health.clear(cmd.target);
        await health.flush();
        return cleared ? `${cmd.target}: degraded mark cleared` : `${cmd.target} was not degraded`;
      }
      case "topics-deleted": {
        await this.deps.refreshTopics?.();
        return `no longer consuming ${cmd.topics.length} deleted topic(s)`;
      }
      case "drop-tables": {
        for (const t of cmd.targets) {
          await sink.dropTable(t);
          health.clear(t);
        }
        await health.flush();
        return `dropped ${cmd.targets.length} table(s)`;
      }
      case "finish-resnapshot": {
        await this.waitStored(cmd.topic, cmd.offsets);
        const keys = await sink.tableKeys(cmd.target);
        if (!keys) throw new Error(`no projected table ${cmd.target}`);
        await sink.truncate({ target: cmd.target, keys }, BigInt(cmd.lsn), BigInt(Date.now()) * 1000n);
        return `${cmd.target}: rows not re-read since the re-snapshot began are deleted`;
      }
      case "snapshot":
      case "mysql-snapshot":
        throw new Error("snapshot runs as a job (startSnapshot)");
    }
  }

  /** Waits until the group's committed offsets (committed only after storing) reach `offsets`. */
  private async waitStored(topic: string, offsets: { partition: number; offset: string }[]): Promise<void> {
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      const [committed] = await this.admin().fetchOffsets({ groupId: this.deps.group, topics: [topic] });
      const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      if (offsets.every((o) => (at.get(o.partition) ?? -1n) >= BigInt(o.offset))) return;
      if (this.stopping || Date.now() > deadline)
        throw new Error(`${topic} was not stored up to the re-snapshot's end`);
      await sleep(250);
    }
  }
}
