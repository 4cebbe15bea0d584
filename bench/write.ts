/**
 * Place-order throughput and latency: the write API over HTTP (a real server on a port,
 * in its own process) against a baseline in the same run, the same transaction issued
 * directly with pg from this process (same repository code, same pool size).
 *
 *   npx tsx bench/write.ts [--seconds 10] [--clients 32]
 *
 * Prints a table and writes bench/results/write.json. Target: API ≥ 60% of direct pg.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Registry } from "prom-client";
import { loadConfig } from "../src/shared/config.js";
import { createLogger } from "../src/shared/logger.js";
import { createPgPool } from "../src/shared/postgres.js";
import { migrate } from "../src/write/migrate.js";
import { placeOrder } from "../src/write/orders/routes.js";
import { startWriteApi } from "../src/write/server.js";
import { withTransaction } from "../src/write/tx.js";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    clients: { type: "string", default: "32" },
    products: { type: "string", default: "200" },
    serve: { type: "boolean", default: false },
  },
});
const CLIENTS = Number(args.clients);
const POOL_MAX = CLIENTS;
const TOKEN = "bench-token";

/** Child mode: serve the write API and report the port on stdout. */
async function serveChild(): Promise<void> {
  const config = loadConfig({
    ...process.env,
    API_TOKEN: TOKEN,
    WRITE_API_PG_POOL_MAX: String(POOL_MAX),
    LOG_LEVEL: "warn",
  });
  const api = await startWriteApi(config, {
    port: 0,
    hostname: "127.0.0.1",
    log: createLogger("warn"),
    registry: new Registry(),
  });
  process.stdout.write(`PORT ${api.port}\n`);
  // The parent asks for this process's CPU time (µs) between phases.
  process.on("SIGUSR2", () => {
    const u = process.cpuUsage();
    process.stdout.write(`CPU ${u.user + u.system}\n`);
  });
  process.on("SIGTERM", () => void api.close().then(() => process.exit(0)));
}

interface Phase {
  name: string;
  /** CPU time of the Node processes (benchmark client + API server) per successful order. */
  node_cpu_ms_per_order?: number;
  requests: number;
  errors: number;
  seconds: number;
  throughput: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Runs `op` from CLIENTS concurrent loops for `seconds`; counts only successes in latency. */
async function drive(name: string, seconds: number, op: (i: number) => Promise<boolean>): Promise<Phase> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, worker) => {
      let i = worker;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const ok = await op(i).catch(() => false);
        if (ok) latencies.push(performance.now() - t0);
        else errors++;
        i += CLIENTS;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    name,
    requests: latencies.length,
    errors,
    seconds: round(elapsed),
    throughput: round(latencies.length / elapsed),
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    mean_ms: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)),
  };
}

async function startServerProcess(): Promise<{ port: number; child: ChildProcess; cpu: () => Promise<number> }> {
  const prof = process.env.BENCH_SERVER_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, "--import", "tsx", fileURLToPath(import.meta.url), "--serve"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: process.env,
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = "";
    child.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /PORT (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  let waiting: ((us: number) => void) | undefined;
  child.stdout?.on("data", (d: Buffer) => {
    const m = /CPU (\d+)/.exec(d.toString());
    if (m && waiting) waiting(Number(m[1]));
  });
  const cpu = () =>
    new Promise<number>((resolve) => {
      waiting = resolve;
      child.kill("SIGUSR2");
    });
  return { port, child, cpu };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const pool = createPgPool(config.DATABASE_URL, { max: POOL_MAX, applicationName: "bench-write-direct" });
  await migrate(pool);

  // Fixtures: one customer, many products with plenty of stock (orders rarely contend on one row).
  const run = randomUUID().slice(0, 8);
  const customerId = (
    await pool.query<{ id: string }>("INSERT INTO shop.customers (email, name) VALUES ($1, 'Bench') RETURNING id", [
      `bench-${run}@example.com`,
    ])
  ).rows[0]?.id as string;
  const productIds = (
    await pool.query<{ id: string }>(
      `INSERT INTO shop.products (sku, name, price, stock)
       SELECT 'BENCH-' || $1 || '-' || g, 'Bench product ' || g, ((g % 50 + 1) || '.99')::numeric, 1000000000
         FROM generate_series(1, $2::int) g RETURNING id`,
      [run, Number(args.products)],
    )
  ).rows.map((r) => r.id);
  const orderFor = (i: number) => {
    const a = productIds[(i * 7) % productIds.length] as string;
    const b = productIds[(i * 13 + 1) % productIds.length] as string;
    const lines =
      a === b
        ? [{ productId: a, quantity: 1 }]
        : [
            { productId: a, quantity: 1 },
            { productId: b, quantity: 2 },
          ];
    return { customerId, lines };
  };

  const direct = async (i: number) => {
    await withTransaction(pool, (client) => placeOrder(client, orderFor(i)));
    return true;
  };

  const { port, child, cpu: serverCpu } = await startServerProcess();
  /** Runs a phase and adds the Node CPU it cost (this process, plus the server process for API phases). */
  const measured = async (name: string, secs: number, op: (i: number) => Promise<boolean>, server: boolean) => {
    const c0 = process.cpuUsage();
    const s0 = server ? await serverCpu() : 0;
    const phase = await drive(name, secs, op);
    const own = process.cpuUsage(c0);
    const srv = server ? (await serverCpu()) - s0 : 0;
    phase.node_cpu_ms_per_order =
      Math.round(((own.user + own.system + srv) / 1000 / Math.max(1, phase.requests)) * 1000) / 1000;
    return phase;
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const viaApi = (withKey: boolean) => (i: number) =>
    new Promise<boolean>((resolve, reject) => {
      const body = JSON.stringify(orderFor(i));
      const headers: Record<string, string | number> = {
        authorization: `Bearer ${TOKEN}`,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      };
      if (withKey) headers["idempotency-key"] = randomUUID();
      const req = http.request({ host: "127.0.0.1", port, path: "/orders", method: "POST", agent, headers }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 201));
      });
      req.on("error", reject);
      req.end(body);
    });

  const seconds = Number(args.seconds);
  const warmup = Number(args.warmup);
  try {
    await drive("warmup direct", warmup, direct);
    await drive("warmup api", warmup, viaApi(false));
    const phases = [
      await measured("direct pg (same transaction)", seconds, direct, false),
      await measured("HTTP API", seconds, viaApi(false), true),
      await measured("HTTP API + Idempotency-Key", seconds, viaApi(true), true),
    ];
    const [base, api, apiKey] = phases as [Phase, Phase, Phase];
    const ratio = api.throughput / base.throughput;
    console.log(`\nplace-order, ${CLIENTS} concurrent clients, ${seconds}s per phase, ${os.cpus().length} CPUs\n`);
    console.table(
      Object.fromEntries(
        phases.map((p) => [
          p.name,
          {
            "orders/s": p.throughput,
            "p50 ms": p.p50_ms,
            "p99 ms": p.p99_ms,
            ok: p.requests,
            errors: p.errors,
            "node CPU ms/order": p.node_cpu_ms_per_order,
          },
        ]),
      ),
    );
    console.log(`API / direct pg throughput: ${(ratio * 100).toFixed(1)}% (target ≥ 60%)`);
    console.log(`API with Idempotency-Key / direct pg: ${((apiKey.throughput / base.throughput) * 100).toFixed(1)}%`);
    await mkdir(new URL("./results/", import.meta.url), { recursive: true });
    await writeFile(
      new URL("./results/write.json", import.meta.url),
      `${JSON.stringify(
        {
          benchmark: "write/place-order",
          at: new Date().toISOString(),
          clients: CLIENTS,
          poolMax: POOL_MAX,
          secondsPerPhase: seconds,
          cpus: os.cpus().length,
          node: process.version,
          phases,
          apiToDirectRatio: Math.round(ratio * 1000) / 1000,
          target: 0.6,
          meetsTarget: ratio >= 0.6,
        },
        null,
        2,
      )}\n`,
    );
    console.log("written: bench/results/write.json");
  } finally {
    agent.destroy();
    child.kill("SIGTERM");
    // The bench's products and orders stay: they are ordinary shop rows (and flow through CDC like any other).
    await pool.end();
  }
}

if (args.serve) await serveChild();
else await main();
