import { Gauge, type Registry } from "prom-client";
import type { ConnectClient } from "../connect/connect-client.js";
import type { Logger } from "../shared/logger.js";
import {
  CONNECT_STATES,
  type ConnectorHealth,
  connectorHealth,
  type SlotSource,
  stateSet,
} from "./pipeline-sources.js";
import { sharedRead } from "./scrape-cache.js";

/**
 * Every connector Kafka Connect runs, read from its REST API when scraped: `sidecar_connect_up`,
 * and state sets for each connector and each task. Connect away: up is 0 and the state series
 * are gone (alert on up), never an error. Also keeps the Postgres slots the connectors read, as
 * last seen, for slot-metrics.ts.
 */
export class ConnectorMetrics {
  private readonly read: () => Promise<ConnectorHealth[]>;
  private slots: SlotSource[] = [];
  private down = false;

  constructor(
    registry: Registry,
    connect: ConnectClient,
    private readonly log: Logger,
    opts: { reach?: (url: URL) => URL; maxAgeMs?: number; deadlineMs?: number } = {},
  ) {
    this.read = sharedRead(
      async () => {
        const health = connectorHealth(await connect.connectorsExpanded(), opts.reach);
        this.slots = health.flatMap((c) => (c.postgres ? [c.postgres] : []));
        return health;
      },
      { maxAgeMs: opts.maxAgeMs ?? 2_000, deadlineMs: opts.deadlineMs ?? 4_000 },
    );
    const tryRead = () =>
      this.read().then(
        (h) => this.noteUp(h),
        (err: Error) => this.noteDown(err),
      );
    const registers = [registry];
    gauge(registry, {
      name: "sidecar_connect_up",
      help: "1 when Kafka Connect's REST API answered the last scrape, else 0 (connector series are then absent)",
      registers,
      async collect() {
        this.set((await tryRead()) ? 1 : 0);
      },
    });
    gauge(registry, {
      name: "sidecar_connector_state",
      help: "Kafka Connect state of each connector, a state set: 1 for the current state, 0 for the others",
      labelNames: ["connector", "state"],
      registers,
      async collect() {
        this.reset();
        for (const c of (await tryRead()) ?? [])
          for (const s of stateSet(c.state, CONNECT_STATES)) this.set({ connector: c.name, state: s.state }, s.value);
      },
    });
    gauge(registry, {
      name: "sidecar_connector_task_state",
      help: "Kafka Connect state of each connector task, a state set: 1 for the current state, 0 for the others",
      labelNames: ["connector", "task", "state"],
      registers,
      async collect() {
        this.reset();
        for (const c of (await tryRead()) ?? [])
          for (const t of c.tasks)
            for (const s of stateSet(t.state, CONNECT_STATES))
              this.set({ connector: c.name, task: String(t.id), state: s.state }, s.value);
      },
    });
    gauge(registry, {
      name: "sidecar_connector_tasks",
      help: "Tasks Kafka Connect lists for each connector (a RUNNING connector with 0 tasks streams nothing)",
      labelNames: ["connector"],
      registers,
      async collect() {
        this.reset();
        for (const c of (await tryRead()) ?? []) this.set({ connector: c.name }, c.tasks.length);
      },
    });
  }

  /** The slots of the Postgres connectors as last seen (kept while Connect is away). */
  async slotSources(): Promise<SlotSource[]> {
    await this.read().catch(() => undefined);
    return this.slots;
  }

  private noteUp(h: ConnectorHealth[]): ConnectorHealth[] {
    if (this.down) this.log.info("metrics: Kafka Connect answers again");
    this.down = false;
    return h;
  }

  private noteDown(err: Error): undefined {
    if (!this.down)
      this.log.warn({ err: err.message }, "metrics: Kafka Connect does not answer (sidecar_connect_up 0)");
    this.down = true;
    return undefined;
  }
}

/** A gauge registered anew: a second exporter on the same registry replaces the first one's. */
export function gauge<L extends string>(registry: Registry, conf: ConstructorParameters<typeof Gauge<L>>[0]): Gauge<L> {
  registry.removeSingleMetric(conf.name);
  return new Gauge<L>(conf);
}
