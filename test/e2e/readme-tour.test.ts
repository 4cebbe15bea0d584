import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectClient } from "../../src/connect/connect-client.js";
import { type BlockRun, readDoc, runShellBlocks, shellBlocks } from "../helpers/doc-blocks.js";
import { stackEnv } from "../helpers/stack.js";
import { ROOT, runCli, userEnv } from "../helpers/user-stack.js";

/**
 * The README's five-minute tour and the docs' quick starts, run exactly as written: its shell blocks, in order, in one bash
 * (as a user pastes them into one terminal), against the stack its own `make up` starts, every
 * CLI a separate process. When the README changes, this runs the new text.
 */
const run = promisify(execFile);
const native = (process.env.TEST_STACK ?? "native") === "native";
const env = stackEnv();

/** What each step promises, found by the command it runs. */
const promises: { step: RegExp; check: (r: BlockRun, all: BlockRun[]) => void }[] = [
  { step: /^make up$/m, check: (r) => expect(r.out).toMatch(/write\s+up[\s\S]*read\s+up[\s\S]*project\s+up/) },
  {
    step: /X-Consistency-Token/,
    check: (r) => {
      const answer = JSON.parse(r.out) as { data: { status: string }[]; freshness: { token: string | null } };
      expect(answer.data).toHaveLength(1); // the order just written, read back with its token
      expect(answer.freshness.token).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    },
  },
  {
    step: /make attach/,
    check: (r) => {
      expect(r.out).toMatch(/snapshot copied: 1,000 rows/);
      expect(r.out).not.toMatch(/Code: \d+|Exception|error:/);
    },
  },
  {
    step: /cqrs-sidecar attach --database-url \$M/,
    check: (r) => {
      expect(r.out).toMatch(/snapshot copied: 1,000 rows/);
      expect(r.out).toMatch(/verify: 1 table\(s\) identical/);
    },
  },
  {
    step: /aggregate\?metrics=count/,
    check: (r) => {
      const [rows, agg] = r.out.split(/\n(?=\{)/).map((j) => JSON.parse(j));
      expect(rows.data).toHaveLength(3);
      expect(rows.data[0].score).toBe("99.00");
      expect(agg.data[0]).toMatchObject({ count: "1000", avg_score: 49.5 });
    },
  },
  {
    step: /make verify/,
    check: (r) => {
      expect(r.out).toMatch(/verify: 1 table\(s\) identical/);
      expect(r.out).toMatch(/connector attach_erp: RUNNING \(tasks RUNNING\)/);
      expect(r.out).toMatch(/slot sidecar_attach_erp: active/);
    },
  },
  {
    step: /make detach/,
    check: (r) => {
      expect(r.out).toMatch(/replication slot sidecar_attach_erp and publication sidecar_attach_erp dropped/);
      expect(r.out).toMatch(/connector attach_sales removed/);
    },
  },
];

/** What an interrupted earlier tour left (the tour's CREATE DATABASE would fail on it). */
async function removeTourLeftovers() {
  const pgUrl = "postgres://postgres:postgres@127.0.0.1:55432";
  const pool = new pg.Pool({ connectionString: `${pgUrl}/postgres`, max: 1 });
  try {
    if ((await pool.query("SELECT 1 FROM pg_database WHERE datname = 'erp'")).rowCount) {
      await runCli(["detach", "--database-url", `${pgUrl}/erp`, "--name", "erp"]);
      await pool.query("DROP DATABASE erp WITH (FORCE)");
    }
  } finally {
    await pool.end();
  }
  const maria = "mariadb://root:mariadb@127.0.0.1:53306";
  if (await new ConnectClient(env.KAFKA_CONNECT_URL).status("attach_sales"))
    await runCli(["detach", "--database-url", maria, "--name", "sales"]);
  await run("mariadb", ["-h127.0.0.1", "-P53306", "-uroot", "-pmariadb", "-e", "DROP DATABASE IF EXISTS sales"]);
}

type Step = (typeof promises)[number];

/** Runs a doc's blocks once (after `before`), then checks each exits 0 and each promise holds. */
function tourOf(
  file: string,
  heading: string,
  steps: Step[],
  opts: { before: () => Promise<void>; timeoutMs: number },
) {
  let runs: BlockRun[] = [];
  const blocks = shellBlocks(readDoc(ROOT, file), heading);

  beforeAll(async () => {
    await opts.before();
    runs = await runShellBlocks(blocks, { cwd: ROOT, env: userEnv(), timeoutMs: opts.timeoutMs });
  }, opts.timeoutMs + 60_000);

  it("runs every block to its end, each command exiting 0", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    const failed = runs.find((r) => r.code !== 0);
    expect(
      failed,
      failed && `block failed (exit ${failed.code}):\n${failed.block}\n--- output ---\n${failed.out}`,
    ).toBe(undefined);
    expect(runs).toHaveLength(blocks.length);
  });

  it.each(steps.map((p) => [p.step.source, p] as const))("keeps its promise: %s", (_, p) => {
    const run = runs.find((r) => p.step.test(r.block));
    expect(run, `no block of ${file} runs ${p.step}`).toBeDefined();
    p.check(run!, runs);
  });
  return blocks;
}

describe.runIf(native)("README tour, as written", () => {
  tourOf("README.md", "A five-minute tour", promises, { before: removeTourLeftovers, timeoutMs: 900_000 });

  describe("leaves nothing behind", () => {
    let pool: pg.Pool;
    beforeAll(() => {
      pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
    });
    afterAll(() => pool.end());

    it("no slot, publication or connector of either attachment", async () => {
      const slots = await pool.query("SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE '%attach_erp'");
      expect(slots.rows).toEqual([]);
      const dbs = await pool.query("SELECT datname FROM pg_database WHERE datname = 'erp'");
      expect(dbs.rows).toEqual([]);
      const connect = new ConnectClient(env.KAFKA_CONNECT_URL);
      expect(await connect.status("attach_erp")).toBeUndefined();
      expect(await connect.status("attach_sales")).toBeUndefined();
    });
  });
});

/** The quick starts of docs/attach.md and docs/attach-mysql.md: each a tour of its own. */
const quickStarts: { file: string; promises: typeof promises; connector: string }[] = [
  {
    file: "docs/attach.md",
    connector: "attach_shopfloor",
    promises: [
      {
        step: /--check \|\| true/,
        check: (r) => {
          expect(r.out).toMatch(
            /ops\.readings by its unique index readings_machine_taken_at_key \(machine, taken_at\)/,
          );
          expect(r.out).toMatch(/ops\.notes: no primary key and no unique index on NOT NULL columns/);
          expect(r.out).toMatch(/leaving out \(no key\): ops\.notes/);
          expect(r.out).toMatch(/snapshot copied: 5,050 rows/);
        },
      },
      {
        step: /cqrs-sidecar verify/,
        check: (r) => {
          expect(r.out).toMatch(/verify: 2 table\(s\) identical/);
          expect(r.out).toMatch(/connector attach_shopfloor: RUNNING \(tasks RUNNING\)/);
          expect(r.out).toMatch(/dropped ClickHouse tables: ops__machines, ops__readings/);
        },
      },
    ],
  },
  {
    file: "docs/attach-mysql.md",
    connector: "attach_depot",
    promises: [
      { step: /cqrs-sidecar attach/, check: (r) => expect(r.out).toMatch(/snapshot copied: 2,000 rows/) },
      {
        step: /cqrs-sidecar verify/,
        check: (r) => {
          expect(r.out).toMatch(/verify: 1 table\(s\) identical/);
          expect(r.out).toMatch(/connector attach_depot: RUNNING/);
          expect(r.out).toMatch(/dropped ClickHouse tables: depot__parcels/);
        },
      },
    ],
  },
];

describe.runIf(native).each(quickStarts)("$file quick start, as written", ({ file, promises: steps, connector }) => {
  const blocks = tourOf(file, "Quick start", steps, {
    timeoutMs: 600_000,
    before: async () => {
      if (!(await new ConnectClient(env.KAFKA_CONNECT_URL).status(connector))) return;
      // An interrupted earlier run: take its attachment down as the quick start's last block would.
      const vars = blocks[0]!.split("\n").filter((l) => /^[A-Z]+=/.test(l));
      const detach = blocks
        .at(-1)!
        .split("\n")
        .filter((l) => /cqrs-sidecar detach/.test(l));
      await runShellBlocks([[...vars, ...detach].join("\n")], { cwd: ROOT, env: userEnv(), timeoutMs: 120_000 });
    },
  });

  it("leaves no connector behind", async () => {
    expect(await new ConnectClient(env.KAFKA_CONNECT_URL).status(connector)).toBeUndefined();
  });
});
