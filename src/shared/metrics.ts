import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * One Prometheus registry per process (roles running together share it). Each role
 * registers its own metrics on it with a role prefix; /metrics serves it.
 */
let registry: Registry | undefined;

export function metricsRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}
