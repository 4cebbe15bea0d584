import type { ExpandedConnector } from "../connect/connect-client.js";
import { includedTables } from "../connect/connector-config.js";
import { databaseUrlOf } from "../snapshot/control-job.js";

/**
 * What the pipeline metrics watch, read from Kafka Connect's answer (pure): every connector with
 * its state and its tasks' states, and for a Debezium Postgres connector the database and slot it
 * reads (its `database.*` and `slot.name` settings).
 */
export interface ConnectorHealth {
  name: string;
  /** Connect's state of the connector: RUNNING, PAUSED, STOPPED, FAILED, UNASSIGNED, RESTARTING. */
  state: string;
  tasks: { id: number; state: string }[];
  postgres?: SlotSource;
}

/** A replication slot a Postgres connector reads. */
export interface SlotSource {
  connector: string;
  /** How the sidecar reaches the database (with the connector's credentials). */
  databaseUrl: string;
  /** `host:port/dbname`, without credentials: the `database` label. */
  database: string;
  slot: string;
  /** The tables the connector captures (their projection is only as whole as the slot). */
  tables: { schema: string; table: string }[];
}

/** The states Kafka Connect reports for a connector or a task. */
export const CONNECT_STATES = ["RUNNING", "PAUSED", "STOPPED", "FAILED", "UNASSIGNED", "RESTARTING"] as const;

/** `pg_replication_slots.wal_status` values, and `missing` for a slot the connector names that does not exist. */
export const WAL_STATUSES = ["reserved", "extended", "unreserved", "lost", "missing"] as const;

/**
 * A state set (one series per state, 1 for the current one): `known` states always, so that
 * `{state="RUNNING"} == 0` holds for every other state, plus the current one if it is not known.
 */
export function stateSet(current: string, known: readonly string[]): { state: string; value: 0 | 1 }[] {
  const states = known.includes(current) ? known : [...known, current];
  return states.map((state) => ({ state, value: state === current ? 1 : 0 }));
}

/** Debezium's default `slot.name`. */
const DEFAULT_SLOT = "debezium";

/**
 * The slot a Debezium Postgres connector reads, undefined for any other connector. `reach` turns
 * the URL Kafka Connect uses into the one the sidecar uses (they differ inside Docker).
 */
export function slotSourceOf(
  connector: string,
  config: Record<string, string>,
  reach: (url: URL) => URL = (u) => u,
): SlotSource | undefined {
  if (!config["connector.class"]?.endsWith(".PostgresConnector")) return undefined;
  const reached = reach(new URL(databaseUrlOf(config)));
  return {
    connector,
    databaseUrl: reached.toString(),
    database: `${reached.hostname}:${reached.port || "5432"}${reached.pathname}`,
    slot: config["slot.name"] || DEFAULT_SLOT,
    tables: includedTables(config),
  };
}

/**
 * `reach` for slotSourceOf: a connector whose database is `connectUrl`'s host and port (how Kafka
 * Connect reaches the sidecar's own Postgres, CONNECT_DATABASE_URL) is reached at `ownUrl`'s
 * (DATABASE_URL); any other URL as it is.
 */
export function reachVia(ownUrl: string, connectUrl: string | undefined): (url: URL) => URL {
  if (!connectUrl) return (u) => u;
  const own = new URL(ownUrl);
  const seen = new URL(connectUrl);
  const port = (u: URL) => u.port || "5432";
  return (u) => {
    if (u.hostname !== seen.hostname || port(u) !== port(seen)) return u;
    const out = new URL(u.toString());
    out.hostname = own.hostname;
    out.port = port(own);
    return out;
  };
}

/** Connect's `?expand=status&expand=info` answer as ConnectorHealth, sorted by name. */
export function connectorHealth(
  expanded: Record<string, ExpandedConnector>,
  reach?: (url: URL) => URL,
): ConnectorHealth[] {
  return Object.entries(expanded)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, c]) => ({
      name,
      state: c.status?.connector.state ?? "UNASSIGNED",
      tasks: (c.status?.tasks ?? []).map((t) => ({ id: t.id, state: t.state })),
      postgres: c.info ? slotSourceOf(name, c.info.config, reach) : undefined,
    }));
}
