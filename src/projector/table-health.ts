import type { Logger } from "../shared/logger.js";

/**
 * Projected tables marked degraded: an event of theirs was set aside (dead-letter topic), or their
 * ClickHouse table had to be recreated, so the projection may differ from the source until the
 * table is repaired (`cqrs-sidecar repair`: a re-snapshot in place, cleared once verify is clean).
 * Everything else goes on; the watermark never waits on a degraded table.
 *
 * Marks live here and in ClickHouse (the health table, see ddl.ts), so they survive a restart and
 * a read API in its own process sees them.
 */
export interface Degradation {
  /** Projected table. */
  target: string;
  /** Source table, schema.table. */
  source: string;
  reason: string;
  since: Date;
}

export interface HealthStore {
  load(): Promise<Degradation[]>;
  save(entries: { target: string; source: string; degraded: boolean; reason: string; since: Date }[]): Promise<void>;
}

export class TableHealth {
  private readonly marks = new Map<string, Degradation>();
  private readonly pending = new Map<string, { source: string; degraded: boolean; reason: string; since: Date }>();

  constructor(
    private readonly store: HealthStore,
    private readonly log: Logger,
    private readonly onChange: (target: string, degraded: boolean) => void = () => undefined,
  ) {}

  async load(): Promise<void> {
    for (const d of await this.store.load()) {
      this.marks.set(d.target, d);
      this.onChange(d.target, true);
    }
  }

  isDegraded(target: string): boolean {
    return this.marks.has(target);
  }

  get(target: string): Degradation | undefined {
    return this.marks.get(target);
  }

  list(): Degradation[] {
    return [...this.marks.values()];
  }

  /** Marks a table degraded; the first reason is kept (and logged once) until the table is repaired. */
  mark(target: string, source: string, reason: string): void {
    if (this.marks.has(target)) return;
    const d = { target, source, reason, since: new Date() };
    this.marks.set(target, d);
    this.pending.set(target, { source, degraded: true, reason, since: d.since });
    this.onChange(target, true);
    this.log.error({ table: target, source, reason }, "table degraded: run `cqrs-sidecar repair` for it");
  }

  /** Replaces the reason of a table already marked (what was tried since, and what is left to do). */
  update(target: string, reason: string): void {
    const d = this.marks.get(target);
    if (!d) return;
    d.reason = reason;
    this.pending.set(target, { source: d.source, degraded: true, reason, since: d.since });
    this.log.error({ table: target, source: d.source, reason }, "table degraded: run `cqrs-sidecar repair` for it");
  }

  /** Writes every current mark again (the stored ones were lost: a damaged part of the health table). */
  rewriteAll(): void {
    for (const d of this.marks.values())
      this.pending.set(d.target, { source: d.source, degraded: true, reason: d.reason, since: d.since });
  }

  clear(target: string): boolean {
    const d = this.marks.get(target);
    if (!d) return false;
    this.marks.delete(target);
    this.pending.set(target, { source: d.source, degraded: false, reason: "", since: d.since });
    this.onChange(target, false);
    this.log.info({ table: target }, "table repaired: degraded mark cleared");
    return true;
  }

  /** Writes changed marks to the store; a failed write is kept for the next flush. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.entries()];
    this.pending.clear();
    try {
      await this.store.save(batch.map(([target, e]) => ({ target, ...e })));
    } catch (err) {
      for (const [t, e] of batch) if (!this.pending.has(t)) this.pending.set(t, e);
      throw err;
    }
  }
}
