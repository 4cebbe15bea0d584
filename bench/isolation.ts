/**
 * CQRS isolation (issue 7), the reason the pattern exists. On a private native stack with the
 * whole pipeline running (write API, Debezium, Kafka, projector), place-order throughput and
 * latency through the write API, three times:
 *   1. writes alone;
 *   2. writes + a heavy dashboard load on the read API (ClickHouse): --dash-clients loops, each
 *      requesting the dashboard endpoints back to back;
 *   3. writes + the same dashboard queries sent to Postgres directly (the CRUD way).
 * The dashboard data set is bench/read.ts's (--lines order lines, default 1,000,000) in both
 * stores. The dashboard load runs in a process of its own, so it never shares the write
 * driver's event loop. Target: read-side load costs writes < 10% of their throughput.
 *
 * Phases are interleaved for --rounds rounds and each phase's median round is reported (all are kept).
 *
 * --cpus split (default): the write side (Postgres and its backends, the write API, the write
 * driver) runs on CPU 0; the change stream and the read side (Kafka, Connect + Debezium, the
 * projector, the read API, the dashboard clients) on CPU 1: each on machines of its own, as
 * deployed, scaled down to one core each. Dashboards sent to Postgres run on CPU 0, because that
 * is where Postgres is. --cpus shared: every process on every CPU (bench/results/isolation-shared.json).
 *
 *   node --import tsx bench/isolation.ts [--cpus split|shared] [--seconds 12] [--rounds 3] [--clients 16]
 *                                        [--dash-clients 4] [--lines 1000000] [--warmup 30] [--read-nice 0]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { Registry } from "prom-client";
import { openClickHouse } from "../src/clickhouse/client.js";
import { startReadApi } from "../src/read/app.js";
import { memoryFreshness } from "../src/read/freshness.js";
import { loadConfig } from "../src/shared/config.js";
import { createLogger } from "../src/shared/logger.js";
import { DB, dashboardData, TABLES } from "./dashboard-data.js";
import {
  benchStack,
  cpuSampler,
  dist,
  machine,
  pinCpus,
  request,
  round,
  sleep,
  startSidecar,
  writeResult,
} from "./lib.js";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "12" },
    rounds: { type: "string", default: "3" },
    clients: { type: "string", default: "16" },
    "dash-clients": { type: "string", default: "4" },
    // Seconds of writes before the first round: a stack started a minute before still JITs and
    // grows its JVM heaps (3 s gave writes alone 150 → 234 → 302 orders/s over three rounds).
    warmup: { type: "string", default: "30" },
    // The read API's CPU priority (nice). 0: same as the write side.
    "read-nice": { type: "string", default: "0" },
    lines: { type: "string", default: "1000000" },
    cpus: { type: "string", default: "split" },
    "base-port": { type: "string", default: "26340" },
    // child modes
    "serve-read": { type: "boolean", default: false },
    dash: { type: "string" },
    chdb: { type: "string" },
    url: { type: "string" },
  },
});
const LINES = Number(args.lines);
if (args.cpus !== "split" && args.cpus !== "shared") throw new Error("--cpus must be split or shared");
const SPLIT = args.cpus === "split";
/** Under --cpus split: the write side's CPU, and the one of the change stream and the read side. */
const WRITE_CPU = "0";
const READ_CPU = "1";

/** Child: the read API over the dashboard data set in chDB; prints PORT. */
async function serveRead(): Promise<void> {
  const config = loadConfig({ ...process.env, CLICKHOUSE_DATABASE: DB, READ_API_TOKEN: "", LOG_LEVEL: "warn" });
  const ch = await openClickHouse(`chdb:${resolve(args.chdb as string)}`);
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 1 });
  await dashboardData(LINES, pool, ch).loadClickHouse();
  await pool.end();
  const api = await startReadApi(config, {
    clickhouse: ch,
    freshness: memoryFreshness(() => ({ lsn: 1n, commitTime: new Date(), updatedAt: new Date() })),
    domainTables: TABLES,
    log: createLogger("warn"),
    registry: new Registry(),
    port: 0,
    hostname: "127.0.0.1",
  });
  process.stdout.write(`PORT ${new URL(api.url).port}\n`);
}

/** Child: dashboard load (api or pg) until SIGTERM; prints DONE <queries> <errors> on exit. */
async function dashLoad(kind: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(args["dash-clients"]) });
  const { CASES } = dashboardData(LINES, pool, undefined as never);
  let done = 0;
  let errors = 0;
  let running = true;
  process.on("SIGTERM", () => {
    running = false;
  });
  process.stdout.write("READY\n");
  await Promise.all(
    Array.from({ length: Number(args["dash-clients"]) }, async (_, w) => {
      for (let i = w; running; i++) {
        const c = CASES[i % CASES.length] as (typeof CASES)[number];
        try {
          if (kind === "api") {
            const r = await request(`${args.url}${c.path}`);
            if (r.status !== 200) throw new Error(String(r.status));
          } else await pool.query(c.sql, c.params);
          done++;
        } catch {
          errors++;
        }
      }
    }),
  );
  process.stdout.write(`DONE ${done} ${errors}\n`);
  await pool.end();
  process.exit(0);
}

function child(
  extra: string[],
  env: Record<string, string>,
  nice = 0,
): { proc: ChildProcess; line: (re: RegExp) => Promise<RegExpExecArray> } {
  const argv = [process.execPath, "--import", "tsx", fileURLToPath(import.meta.url), ...extra];
  // `nice` applies to the whole process from its start (os.setPriority would miss threads already running).
  const [cmd, ...rest] = nice > 0 ? ["nice", "-n", String(nice), ...argv] : argv;
  const proc = spawn(cmd as string, rest, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let buf = "";
  const waiters: [RegExp, (m: RegExpExecArray) => void][] = [];
  proc.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    for (const [re, res] of [...waiters]) {
      const m = re.exec(buf);
      if (m) {
        waiters.splice(waiters.indexOf([re, res] as never), 1);
        res(m);
      }
    }
  });
  return {
    proc,
    line: (re) =>
      new Promise((res, rej) => {
        const m = re.exec(buf);
        if (m) return res(m);
        waiters.push([re, res]);
        proc.once("exit", (code) => rej(new Error(`child exited with ${code}`)));
      }),
  };
}

async function main(): Promise<void> {
  const machineAtStart = machine();
  if (SPLIT && machineAtStart.cpus < 2) throw new Error("--cpus split needs 2 CPUs; use --cpus shared");
  const st = await benchStack(Number(args["base-port"]));
  if (SPLIT) {
    await pinCpus(process.pid, WRITE_CPU); // the write driver
    const { postgres, ...stream } = st.pids();
    await pinCpus(postgres ?? 0, WRITE_CPU);
    for (const pid of Object.values(stream)) await pinCpus(pid, READ_CPU);
  }
  const pool = new pg.Pool({ connectionString: st.env.DATABASE_URL, max: 1 });
  const t0 = Date.now();
  await dashboardData(LINES, pool, undefined as never).loadPostgres();
  await pool.end();
  const reader = child(
    ["--serve-read", "--chdb", join(st.dir, "isolation-read-chdb"), "--lines", String(LINES)],
    { ...st.env },
    Number(args["read-nice"]),
  );
  const port = Number((await reader.line(/PORT (\d+)/))[1]);
  if (SPLIT) await pinCpus(reader.proc.pid ?? 0, READ_CPU);
  const readUrl = `http://127.0.0.1:${port}`;
  console.log(
    `[isolation] data set ready (${LINES} order lines in both stores) in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  const side = await startSidecar(st);
  if (SPLIT) {
    await pinCpus(side.pids().write ?? 0, WRITE_CPU);
    await pinCpus(side.pids().projectread ?? 0, READ_CPU);
  }

  // Fixtures for the writes.
  const customer = (
    await request(`${side.writeUrl}/customers`, {
      method: "POST",
      body: { email: `iso-${Date.now()}@example.test`, name: "Iso" },
    })
  ).json.id as string;
  const products: string[] = [];
  for (let i = 0; i < 100; i++) {
    const r = await request(`${side.writeUrl}/products`, {
      method: "POST",
      body: { sku: `ISO-${Date.now()}-${i}`, name: `Iso ${i}`, price: "3.50", stock: 1_000_000_000 },
    });
    products.push(r.json.id);
  }
  const order = (i: number) => ({
    customerId: customer,
    lines: [
      { productId: products[(i * 7) % products.length], quantity: 1 },
      { productId: products[(i * 13 + 1) % products.length], quantity: 2 },
    ],
  });
  const CLIENTS = Number(args.clients);
  const SECONDS = Number(args.seconds);
  const drive = async (seconds: number) => {
    const lat: number[] = [];
    let errors = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, w) => {
        for (let i = w; performance.now() < end; i += CLIENTS) {
          const t = performance.now();
          const r = await request(`${side.writeUrl}/orders`, { method: "POST", body: order(i) }).catch(() => ({
            status: 0,
          }));
          if (r.status === 201) lat.push(performance.now() - t);
          else errors++;
        }
      }),
    );
    const secs = (performance.now() - start) / 1000;
    const d = dist(lat);
    return { ordersPerSec: round(lat.length / secs), p50Ms: d.p50, p99Ms: d.p99, maxMs: d.max, errors };
  };
  const phase = async (name: string, dash?: "api" | "pg") => {
    let load: ReturnType<typeof child> | undefined;
    if (dash) {
      load = child(
        ["--dash", dash, "--url", readUrl, "--dash-clients", String(args["dash-clients"]), "--lines", String(LINES)],
        {
          ...st.env,
        },
      );
      await load.line(/READY/);
      if (SPLIT) await pinCpus(load.proc.pid ?? 0, READ_CPU);
      await sleep(2000); // the dashboard load is running before the writes start
    }
    const pids = () => ({
      ...st.pids(),
      ...side.pids(),
      "read API (dashboards)": reader.proc.pid ?? 0,
      "dashboard client": load?.proc.pid ?? 0,
    });
    const cpu = cpuSampler(pids, "bench (write driver)");
    const w = await drive(SECONDS);
    const usage = cpu.stop();
    let dashQps = 0;
    if (load) {
      load.proc.kill("SIGTERM");
      const m = await load.line(/DONE (\d+) (\d+)/);
      dashQps = round(Number(m[1]) / (SECONDS + 2));
    }
    const r = { phase: name, ...w, dashboardQueriesPerSec: dashQps, cpu: usage, loadavg: machine().loadavg };
    console.log(`${name.padEnd(48)} ${w.ordersPerSec} orders/s  p99 ${w.p99Ms} ms  dashboards ${dashQps}/s`);
    return r;
  };
  try {
    await drive(Number(args.warmup));
    // Rounds of the three phases, interleaved, and the median round of each phase: other
    // processes on a shared machine come and go, interleaving spreads their effect over all
    // three phases; every round is kept in the JSON.
    type P = Awaited<ReturnType<typeof phase>>;
    const runs: [P[], P[], P[]] = [[], [], []];
    for (let k = 0; k < Number(args.rounds); k++) {
      runs[0].push(await phase("writes alone"));
      runs[1].push(await phase("writes + dashboards on the read API (ClickHouse)", "api"));
      runs[2].push(await phase("writes + same dashboards on Postgres (CRUD)", "pg"));
    }
    const median = (xs: P[]) =>
      [...xs].sort((a, b) => a.ordersPerSec - b.ordersPerSec)[Math.floor((xs.length - 1) / 2)] as P;
    const [alone, api, crud] = runs.map(median) as [P, P, P];
    const cost = (x: { ordersPerSec: number }) => round((1 - x.ordersPerSec / alone.ordersPerSec) * 100);
    console.log(
      `\nCQRS isolation: place-order through the write API, ${CLIENTS} clients, ${SECONDS} s per phase, median of ${args.rounds} interleaved rounds, ${args["dash-clients"]} dashboard clients, ${machineAtStart.cpus} CPUs, ${SPLIT ? `write side on CPU ${WRITE_CPU}, change stream and read side on CPU ${READ_CPU}` : "every process on every CPU"}\n`,
    );
    console.table(
      Object.fromEntries(
        [alone, api, crud].map((p) => [
          p.phase,
          {
            "orders/s": p.ordersPerSec,
            "p50 ms": p.p50Ms,
            "p99 ms": p.p99Ms,
            "throughput cost %": cost(p),
            "dashboard q/s": p.dashboardQueriesPerSec,
          },
        ]),
      ),
    );
    console.log(
      `read-side (ClickHouse) dashboards cost writes ${cost(api)}% (target < 10%); the CRUD way costs ${cost(crud)}%`,
    );
    writeResult(SPLIT ? "isolation" : "isolation-shared", {
      benchmark: "isolation",
      at: new Date().toISOString(),
      machine: { ...machineAtStart, loadavgEnd: machine().loadavg },
      clients: CLIENTS,
      secondsPerPhase: SECONDS,
      dashboardClients: Number(args["dash-clients"]),
      readApiNice: Number(args["read-nice"]),
      cpus: SPLIT
        ? `split: write side (Postgres and its backends, write API, write driver) on CPU ${WRITE_CPU}; change stream and read side (Kafka, Connect, projector, read API, dashboard clients) on CPU ${READ_CPU}`
        : "shared: every process on every CPU",
      orderLines: LINES,
      rounds: Number(args.rounds),
      summary: "median round of each phase (by orders/s); allRounds has every round",
      phases: [alone, api, crud],
      allRounds: runs,
      costPercent: { readApi: cost(api), postgresCrud: cost(crud) },
      target: "< 10% with dashboards on the read API",
      meetsTarget: cost(api) < 10,
      note: SPLIT
        ? "one 2-core machine, split by CPU affinity: the write side has one core, the change stream and the read side the other; caches and memory bandwidth are still shared"
        : "one 2-core machine holds everything (Postgres, Kafka, Connect, the sidecar, chDB, the load): the read side competes with the write side for CPU here, which it would not on its own machine",
    });
  } finally {
    reader.proc.kill("SIGTERM");
    await side.stop();
    // The stack may serve later benchmarks of the same `make bench`: give it every CPU back.
    if (SPLIT) for (const pid of Object.values(st.pids())) await pinCpus(pid, `0-${machineAtStart.cpus - 1}`);
    await st.close();
  }
}

if (args["serve-read"]) await serveRead();
else if (args.dash) await dashLoad(args.dash);
else {
  await main();
  process.exit(0);
}
