import {
  type AttachDeps,
  AttachError,
  type AttachRequest,
  assertSidecarRunning,
  checkAndResolve,
  createTables,
  registerConnector,
  snapshotByDebezium,
} from "./attach.js";
import { lockAttachment, pendingAdd, setPendingAdd } from "./attach-state.js";
import { ownSnapshot } from "./own-snapshot.js";
import { rowTotals } from "./progress.js";
import { ensureHelperTables, ensurePublication, publicationTables, slotLag } from "./source-setup.js";
import { attachNames, type TableRef, tableName } from "./tables.js";

/**
 * attach --add: the publication and connector widen to the new tables, then the sidecar copies
 * them inside a snapshot of a temporary slot (own-snapshot.ts), like a first attach, while every
 * table streams. Tables an earlier --add did not finish copying (sidecar.attachment) are copied
 * again by the next one.
 */
export async function addTables(deps: AttachDeps, req: AttachRequest & { tables: TableRef[] }): Promise<void> {
  const names = attachNames(req.name);
  if (!(await deps.connect.status(names.connector))) {
    throw new AttachError(`no attachment named ${req.name}: run attach without --add first`);
  }
  await assertSidecarRunning(deps);
  const unlock = await lockAttachment(deps.config.DATABASE_URL, req.name);
  let copy: TableRef[];
  let unsupported: Record<string, string[]>;
  try {
    await ensureHelperTables(deps.pool, req.name); // also an attachment from before per-attachment signal tables
    const current = await publicationTables(deps.pool, names.publication);
    const known = new Set(current.map(tableName));
    const fresh = req.tables.filter((t) => !known.has(tableName(t)));
    const unfinished = await pendingAdd(deps.pool, req.name);
    if (unfinished.length)
      deps.io.out(
        `an earlier attach --add of ${unfinished.map(tableName).join(", ")} stopped before its copy finished: copying again`,
      );
    const added = fresh.length ? (await checkAndResolve(deps, req, fresh)).tables : [];
    copy = [...unfinished, ...added.filter((t) => !unfinished.some((u) => tableName(u) === tableName(t)))];
    if (!copy.length) {
      deps.io.out("those tables are attached already; nothing to do");
      return;
    }
    await setPendingAdd(deps.pool, req.name, copy); // before any change: a kill from here on is finished next time
    if (added.length) await widen(deps, req.name, [...current, ...added], added);
    const copied = await ownSnapshot(deps, req.name, copy, await rowTotals(deps.pool, copy));
    await setPendingAdd(deps.pool, req.name, []);
    unsupported = copied.unsupported;
  } catch (err) {
    if (err instanceof AttachError) throw err;
    throw new AttachError(
      `attach --add failed: ${(err as Error).message}. The tables stream already; run the same attach --add again to copy them`,
    );
  } finally {
    await unlock();
  }
  await snapshotByDebezium(deps, copy, unsupported, req);
}

/**
 * Publication and connector take the new tables. The running task filters by its include list,
 * so it is stopped (and has let go of the slot) before the config changes; the copy's snapshot
 * is taken once the task with the new list runs, so every change after it is streamed.
 */
async function widen(deps: AttachDeps, name: string, all: TableRef[], added: TableRef[]) {
  const names = attachNames(name);
  await ensurePublication(deps.pool, name, all);
  await createTables(deps, added);
  await deps.connect.stop(names.connector);
  await deps.connect.waitState(names.connector, "STOPPED", 60_000);
  await waitSlotReleased(deps, names.slot);
  await registerConnector(deps, name, all, { wait: false }); // a stopped connector stays stopped
  await deps.connect.resume(names.connector);
  await deps.connect.waitRunning(names.connector, 120_000);
  deps.io.out(`connector ${names.connector} RUNNING again, now with ${added.map(tableName).join(", ")}`);
}

async function waitSlotReleased(deps: AttachDeps, slot: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while ((await slotLag(deps.pool, slot)).active) {
    if (Date.now() > deadline)
      throw new AttachError(
        `replication slot ${slot} is still in use ${timeoutMs / 1000} s after the connector stopped`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}
