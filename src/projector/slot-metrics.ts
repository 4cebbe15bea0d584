import type { Registry } from "prom-client";
import type { Logger } from "../shared/logger.js";
import { createPgPool, type PgPool } from "../shared/postgres.js";
import { gauge } from "./connector-metrics.js";
import { type SlotSource, stateSet, WAL_STATUSES } from "./pipeline-sources.js";
import { sharedRead } from "./scrape-cache.js";

/** One slot as pg_replication_slots shows it; undefined fields: the slot does not exist. */
export interface SlotReading {
  source: SlotSource;
  exists: boolean;
  active?: boolean;
  walStatus?: string;
  /** Bytes of WAL between the server's position and what the connector confirmed. */
  lagBytes?: number;
  /** Bytes that can still be written before the slot is past max_slot_wal_keep_size (null: no limit). */
  safeWalSizeBytes?: number;
}

/** Per database: its slots, or why it could not be read. */
export interface DatabaseReading {
  database: string;
  connectors: string[];
  slots: SlotReading[];
  error?: string;
}

const SLOTS_SQL = `
  SELECT slot_name, active, wal_status,
         pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                         confirmed_flush_lsn)::float8 AS lag_bytes,
         safe_wal_size::float8 AS safe_wal_size
    FROM pg_replication_slots WHERE slot_name = ANY($1::text[])`;

/**
 * The replication slot of every Postgres connector, read from its database's pg_replication_slots
 * when scraped: lag in bytes, wal_status (a state set; `missing` when the slot is gone), active,
 * safe_wal_size, and `sidecar_source_database_up` per connector (0: its database did not answer;
 * its slot series are then absent). One small pool per database, with the connector's credentials.
 */
export class SlotMetrics {
  private readonly pools = new Map<string, PgPool>();
  private readonly failing = new Set<string>();
  private readonly read: () => Promise<DatabaseReading[]>;

  constructor(
    registry: Registry,
    sources: () => Promise<SlotSource[]>,
    private readonly log: Logger,
    opts: { maxAgeMs?: number; deadlineMs?: number } = {},
  ) {
    this.read = sharedRead(async () => this.readAll(await sources()), {
      maxAgeMs: opts.maxAgeMs ?? 2_000,
      deadlineMs: opts.deadlineMs ?? 4_000,
    });
    const readings = this.read;
    const slots = async () => (await readings()).flatMap((d) => d.slots);
    const labels = (r: SlotReading) => ({
      connector: r.source.connector,
      slot: r.source.slot,
      database: r.source.database,
    });
    const slotLabels = ["connector", "slot", "database"] as const;
    const registers = [registry];
    gauge(registry, {
      name: "sidecar_source_database_up",
      help: "1 when the database a Postgres connector reads answered the last scrape's slot query, else 0",
      labelNames: ["connector", "database"],
      registers,
      async collect() {
        this.reset();
        for (const d of await readings())
          for (const c of d.connectors) this.set({ connector: c, database: d.database }, d.error ? 0 : 1);
      },
    });
    gauge(registry, {
      name: "sidecar_replication_slot_lag_bytes",
      help: "Bytes of WAL between the source's current position and what the connector confirmed (pg_replication_slots.confirmed_flush_lsn)",
      labelNames: slotLabels,
      registers,
      async collect() {
        this.reset();
        for (const r of await slots()) if (r.lagBytes !== undefined) this.set(labels(r), r.lagBytes);
      },
    });
    gauge(registry, {
      name: "sidecar_replication_slot_wal_status",
      help: "pg_replication_slots.wal_status of each connector's slot, a state set (reserved, extended, unreserved, lost; missing: no such slot; unknown: no restart_lsn yet)",
      labelNames: [...slotLabels, "wal_status"],
      registers,
      async collect() {
        this.reset();
        for (const r of await slots())
          for (const s of stateSet(r.exists ? (r.walStatus ?? "unknown") : "missing", WAL_STATUSES))
            this.set({ ...labels(r), wal_status: s.state }, s.value);
      },
    });
    gauge(registry, {
      name: "sidecar_replication_slot_active",
      help: "1 when a process (the connector) is streaming from the slot, else 0",
      labelNames: slotLabels,
      registers,
      async collect() {
        this.reset();
        for (const r of await slots()) if (r.exists) this.set(labels(r), r.active ? 1 : 0);
      },
    });
    gauge(registry, {
      name: "sidecar_replication_slot_safe_wal_size_bytes",
      help: "Bytes of WAL that can still be written before the slot passes max_slot_wal_keep_size and is lost (absent: no limit)",
      labelNames: slotLabels,
      registers,
      async collect() {
        this.reset();
        for (const r of await slots()) if (r.safeWalSizeBytes !== undefined) this.set(labels(r), r.safeWalSizeBytes);
      },
    });
  }

  /** Every slot as last read (shared with the scrape: read at most every 2 s). */
  async slots(): Promise<SlotReading[]> {
    return (await this.read()).flatMap((d) => d.slots);
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  }

  private async readAll(sources: SlotSource[]): Promise<DatabaseReading[]> {
    const byUrl = new Map<string, SlotSource[]>();
    for (const s of sources) byUrl.set(s.databaseUrl, [...(byUrl.get(s.databaseUrl) ?? []), s]);
    for (const [url, pool] of this.pools)
      if (!byUrl.has(url)) {
        this.pools.delete(url);
        void pool.end().catch(() => undefined);
      }
    return Promise.all([...byUrl].map(([url, group]) => this.readDatabase(url, group)));
  }

  private async readDatabase(url: string, sources: SlotSource[]): Promise<DatabaseReading> {
    const database = sources[0]!.database;
    const connectors = [...new Set(sources.map((s) => s.connector))];
    let pool = this.pools.get(url);
    if (!pool) {
      // Not kept open between scrapes: an idle session in the source database would make a user's
      // DROP DATABASE fail ("being accessed by other users") after detach.
      pool = createPgPool(url, { max: 1, applicationName: "cqrs-sidecar metrics", idleTimeoutMillis: 1_000 });
      this.pools.set(url, pool);
    }
    try {
      const { rows } = await pool.query<{
        slot_name: string;
        active: boolean;
        wal_status: string | null;
        lag_bytes: number | null;
        safe_wal_size: number | null;
      }>(SLOTS_SQL, [sources.map((s) => s.slot)]);
      if (this.failing.delete(url)) this.log.info({ database }, "metrics: source database answers again");
      const bySlot = new Map(rows.map((r) => [r.slot_name, r]));
      const slots = sources.map((source): SlotReading => {
        const r = bySlot.get(source.slot);
        if (!r) return { source, exists: false };
        return {
          source,
          exists: true,
          active: r.active,
          walStatus: r.wal_status ?? undefined,
          lagBytes: r.lag_bytes ?? undefined,
          safeWalSizeBytes: r.safe_wal_size ?? undefined,
        };
      });
      return { database, connectors, slots };
    } catch (err) {
      const error = (err as Error).message;
      if (!this.failing.has(url))
        this.log.warn({ database, err: error }, "metrics: cannot read the source's replication slots");
      this.failing.add(url);
      return { database, connectors, slots: [], error };
    }
  }
}
