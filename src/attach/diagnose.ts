import type { ConnectorStatus } from "../connect/connect-client.js";
import type { PgPool } from "../shared/postgres.js";
import { quoteIdent } from "./tables.js";

/** Something that keeps an attachment from streaming, and the command that fixes it. */
export interface Problem {
  what: string;
  fix: string;
}

/** What `status` knows of an attachment's slot (source-setup.ts slotLag). */
type Slot = { exists: false } | { exists: true; active: boolean; walStatus: string | null };

/**
 * Why an attachment is not streaming, for `status` (exit 1 when there is a reason). The quiet
 * cases matter most: a slot Postgres invalidated, and a connector that Kafka Connect shows
 * RUNNING while Debezium retries a connection Postgres refuses (a user that lost REPLICATION).
 */
export async function diagnose(
  pool: PgPool,
  name: string,
  connector: ConnectorStatus | undefined,
  connectorUser: string | undefined,
  slot: Slot,
): Promise<Problem[]> {
  const repair = `cqrs-sidecar repair --name ${name}`;
  if (!connector) return [{ what: "the connector is not registered", fix: `${repair} (or attach again)` }];
  if (!slot.exists)
    return [{ what: "the replication slot is gone", fix: `${repair} (re-creates it and copies the tables again)` }];
  if (slot.walStatus === "lost")
    return [
      {
        what: "the replication slot was invalidated: more WAL than max_slot_wal_keep_size passed while the connector was not reading it, so changes are lost",
        fix: `${repair} (re-creates the slot and copies the tables again)`,
      },
    ];
  const failed = connector.tasks.filter((t) => t.state === "FAILED");
  if (connector.connector.state === "FAILED" || failed.length) {
    const trace = (failed[0]?.trace ?? connector.connector.trace ?? "").split("\n")[0];
    return [{ what: `the connector failed: ${trace}`, fix: `fix the cause, then ${repair} (restarts what failed)` }];
  }
  if (slot.active || connector.connector.state !== "RUNNING") return [];
  return [await inactiveSlotProblem(pool, connectorUser)];
}

/** A RUNNING connector that does not hold its slot: Debezium keeps retrying; the user's rights are the usual cause. */
async function inactiveSlotProblem(pool: PgPool, user: string | undefined): Promise<Problem> {
  const what = "the connector is RUNNING but not reading its slot: Debezium retries a failing connection every 10 s";
  const { rows } = await pool.query<{ login: boolean; repl: boolean }>(
    "SELECT rolcanlogin AS login, rolsuper OR rolreplication AS repl FROM pg_roles WHERE rolname = $1",
    [user ?? ""],
  );
  const role = rows[0];
  if (user && !role)
    return { what: `${what}; its user ${user} does not exist`, fix: `CREATE ROLE ${quoteIdent(user)} …` };
  if (user && !role!.login)
    return { what: `${what}; its user ${user} may not log in`, fix: `ALTER ROLE ${quoteIdent(user)} LOGIN;` };
  if (user && !role!.repl)
    return {
      what: `${what}; its user ${user} may not open a replication connection`,
      fix: `ALTER ROLE ${quoteIdent(user)} WITH REPLICATION;  -- Debezium resumes by itself within 10 s`,
    };
  return { what, fix: "its reason is in Kafka Connect's log (make logs)" };
}
