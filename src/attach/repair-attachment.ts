import { type AttachDeps, attach, attachmentStatus } from "./attach.js";
import { removeConnector } from "./connector.js";
import { AttachError } from "./errors.js";
import { publicationTables } from "./source-setup.js";
import { attachNames } from "./tables.js";

/**
 * repair --name without --table: brings the attachment itself back (status names what is wrong).
 * - a failed connector or task: restarted (after its cause was fixed);
 * - a replication slot Postgres invalidated, or gone: attach runs again over the same tables. It
 *   sees the slot cannot resume, drops it and copies every table anew (their degraded marks go
 *   with the copy, src/snapshot/copy-health.ts).
 */
export async function repairAttachment(deps: AttachDeps, name: string): Promise<void> {
  const names = attachNames(name);
  const s = await attachmentStatus(deps, name);
  if (s.problems.length === 0) {
    deps.io.out(`nothing to repair: connector ${names.connector} is RUNNING and reads slot ${names.slot}`);
    return;
  }
  for (const p of s.problems) deps.io.out(`problem: ${p.what}`);
  const failed = s.connector?.tasks.some((t) => t.state === "FAILED") || s.connector?.connector.state === "FAILED";
  if (s.slot.exists && s.slot.walStatus !== "lost" && failed) {
    await deps.connect.restart(names.connector);
    await deps.connect.waitRunning(names.connector);
    deps.io.out(`connector ${names.connector} restarted and RUNNING`);
    return;
  }
  if (!s.slot.exists || s.slot.walStatus === "lost" || !s.connector) {
    const tables = await publicationTables(deps.pool, names.publication);
    if (!tables.length)
      throw new AttachError(
        `no tables are attached under ${name} (publication ${names.publication}): attach them again`,
      );
    // Its stored offsets point into the slot that is gone.
    await removeConnector(deps.connect, names.connector);
    await attach(deps, { name, tables });
    return;
  }
  throw new AttachError(`repair cannot fix this by itself: ${s.problems.map((p) => p.fix).join("; ")}`);
}
