import { type ClickHouse, quoteIdent as q, queryRows } from "../clickhouse/client.js";
import type { Logger } from "../shared/logger.js";
import { HEALTH_TABLE, PROGRESS_TABLE } from "./ddl.js";
import type { TableHealth } from "./table-health.js";

/**
 * Parts ClickHouse committed damaged while its disk was full, found and replaced.
 *
 * chDB 26.x was seen committing a merged part whose marks file is empty while the disk refused
 * writes (its checksums name the right size: the bytes never reached the file); every read of
 * the table failed from then on (docs/operations.md, "ClickHouse's disk full"). Stopping merges,
 * and writing every part wide (tried on 7 Dec; it cost freshness), made it rarer, not impossible.
 * So after such an episode each part committed since it began is checked against its checksums
 * (CHECK TABLE … PART); a damaged one is detached (kept in the table's detached/ directory) and
 * the table is read again from its source, marked degraded meanwhile.
 */
export interface DamagedPart {
  table: string;
  part: string;
  rows: number;
  problem: string;
}

/** Active parts of `database` written at or after `since` (whole seconds) that fail their check. */
export async function findDamagedParts(ch: ClickHouse, database: string, since: Date): Promise<DamagedPart[]> {
  const parts = await queryRows<{ table: string; name: string; rows: string }>(
    ch,
    `SELECT table, name, toString(rows) AS rows FROM system.parts
      WHERE database = {db:String} AND active AND modification_time >= {since:DateTime}
      ORDER BY table, name`,
    { db: database, since: Math.floor(since.getTime() / 1000) },
  );
  const damaged: DamagedPart[] = [];
  for (const p of parts) {
    const problem = await checkPart(ch, database, p.table, p.name);
    if (problem !== undefined) damaged.push({ table: p.table, part: p.name, rows: Number(p.rows), problem });
  }
  return damaged;
}

/** The check's message for a damaged part, undefined when it passes (or was merged away meanwhile). */
async function checkPart(ch: ClickHouse, database: string, table: string, part: string): Promise<string | undefined> {
  try {
    const rows = await queryRows<{ is_passed: number | string; message: string }>(
      ch,
      `CHECK TABLE ${q(database)}.${q(table)} PART ${partLiteral(part)} SETTINGS check_query_single_value_result = 0`,
    );
    const failed = rows.find((r) => Number(r.is_passed) !== 1);
    return failed ? failed.message || "the part's check failed" : undefined;
  } catch (err) {
    // A part merged into a newer one between the listing and its check is no longer there.
    if (/No part|not found|NO_SUCH_DATA_PART/i.test((err as Error).message)) return undefined;
    throw err;
  }
}

/** A part name as the literal CHECK and DETACH take (no query parameter there); names are [A-Za-z0-9_-]. */
function partLiteral(part: string): string {
  if (!/^[\w-]+$/.test(part)) throw new Error(`unexpected part name ${JSON.stringify(part)}`);
  return `'${part}'`;
}

export interface PartDoctorDeps {
  ch: ClickHouse;
  database: string;
  health: TableHealth;
  log: Logger;
  /** Source table (schema.table) of a projected table, as recorded in the progress table. */
  sourceOf: (target: string) => Promise<string>;
  /**
   * Reads a projected table again from its source in place; resolves to undefined when done, or
   * to why it cannot (the table then stays degraded and `repair` is the way back).
   */
  reread: (target: string, source: string) => Promise<string | undefined>;
}

/** Runs the check after each disk-full episode, one at a time, off the insert path. */
export class PartDoctor {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly deps: PartDoctorDeps) {}

  /**
   * Checks the parts written since `since` and detaches the damaged ones; resolves then (merges
   * may start again), while their tables are read again in the background (idle() waits for it).
   * Never rejects: a failure is logged.
   */
  schedule(since: Date): Promise<void> {
    const checked = this.queue.then(() => this.detachDamaged(since));
    this.queue = checked
      .then((detached) => this.healAll(detached))
      .catch((err) =>
        this.deps.log.error(
          { err: (err as Error).message },
          "checking the parts written while the disk was full failed",
        ),
      );
    return checked.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Resolves when every check scheduled so far and its tables' reading again are done. */
  idle(): Promise<void> {
    return this.queue;
  }

  private async detachDamaged(since: Date): Promise<DamagedPart[]> {
    const { ch, database, log } = this.deps;
    const damaged = await findDamagedParts(ch, database, since);
    log.info({ since: since.toISOString(), damaged: damaged.length }, "parts written while the disk was full checked");
    const detached: DamagedPart[] = [];
    for (const d of damaged) {
      try {
        await ch.command({ query: `ALTER TABLE ${q(database)}.${q(d.table)} DETACH PART ${partLiteral(d.part)}` });
      } catch (err) {
        // Merged away since its check (its marks were still cached): the table reads without it.
        if (!/No part/i.test((err as Error).message)) throw err;
        log.warn(
          { table: d.table, part: d.part, problem: d.problem },
          "damaged part merged away before it was detached",
        );
        continue;
      }
      log.error({ table: d.table, part: d.part, rows: d.rows, problem: d.problem }, "damaged part detached");
      detached.push(d);
    }
    return detached;
  }

  private async healAll(detached: DamagedPart[]): Promise<void> {
    for (const target of new Set(detached.map((d) => d.table))) await this.heal(target, detached);
  }

  private async heal(target: string, damaged: DamagedPart[]): Promise<void> {
    const { health, log } = this.deps;
    // The sidecar's own tables are rewritten as it goes (progress with every batch, health below).
    if (target === PROGRESS_TABLE || target === HEALTH_TABLE) {
      if (target === HEALTH_TABLE) health.rewriteAll();
      return;
    }
    const source = await this.deps.sourceOf(target);
    // A mark it had for another reason stays: reading it again does not answer that one.
    const markedBefore = health.isDegraded(target);
    const parts = damaged.filter((d) => d.table === target);
    const what = `${parts.map((p) => `part ${p.part} (${p.rows} rows)`).join(", ")} was written damaged while the disk was full (${parts[0]?.problem}) and is detached`;
    health.mark(target, source, `${what}; the table is being read again from the source`);
    await health.flush().catch(() => undefined);
    const started = Date.now();
    const cannot = await this.deps.reread(target, source).catch((err: Error) => err.message);
    if (cannot !== undefined) {
      health.update(target, `${what}; reading it again failed (${cannot}): run cqrs-sidecar repair --table ${source}`);
      await health.flush().catch(() => undefined);
      return;
    }
    log.info({ table: target, ms: Date.now() - started }, "table read again after a damaged part");
    if (!markedBefore) health.clear(target);
    await health.flush().catch(() => undefined);
  }
}
