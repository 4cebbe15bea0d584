import type { Registry } from "prom-client";
import { ConnectClient } from "../connect/connect-client.js";
import type { Config } from "../shared/config.js";
import { createKafka } from "../shared/kafka.js";
import type { Logger } from "../shared/logger.js";
import { metricsRegistry } from "../shared/metrics.js";
import { ConnectorMetrics } from "./connector-metrics.js";
import { GroupLagMetrics } from "./group-lag-metrics.js";
import { reachVia } from "./pipeline-sources.js";
import { SlotMetrics, type SlotReading } from "./slot-metrics.js";

/**
 * The metrics the sidecar reads from the rest of the pipeline each time it is scraped: every
 * connector and task on Kafka Connect, the replication slot of every Postgres connector, and the
 * projector group's lag as Kafka sees it. A part that does not answer turns into a 0 on its
 * `*_up` gauge, never an error. Registered on the process's registry next to the projector's own.
 */
export function startPipelineMetrics(
  config: Config,
  log: Logger,
  registry: Registry = metricsRegistry(),
): { stop: () => Promise<void>; slots: () => Promise<SlotReading[]> } {
  const connectors = new ConnectorMetrics(registry, new ConnectClient(config.KAFKA_CONNECT_URL, 3_000), log, {
    reach: reachVia(config.DATABASE_URL, config.CONNECT_DATABASE_URL),
  });
  const slots = new SlotMetrics(registry, () => connectors.slotSources(), log);
  const lag = new GroupLagMetrics(
    registry,
    // No logger: kafkajs would log every retry while Kafka is away; GroupLagMetrics says it once.
    createKafka(config.KAFKA_BROKERS, "cqrs-sidecar-metrics"),
    config.PROJECTOR_GROUP,
    log,
  );
  return {
    slots: () => slots.slots(),
    stop: async () => {
      await Promise.all([slots.close(), lag.close()]);
    },
  };
}
