/**
 * Shared pieces of the pipeline benchmarks (freshness, peers, isolation, cost-curve):
 * a private native stack (never the shared one), the sidecar roles as child processes,
 * a rate-driven shop load through the write API, the freshness probe, CPU sampling of
 * every process from /proc, percentiles and the machine description.
 *
 * Stack: when BENCH_STACK_DIR and BENCH_BASE_PORT are set (bench/run.sh does that), the
 * stack there is reused (started if needed) and left running; otherwise a fresh one is
 * started under a temporary directory at --base-port and removed at the end.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import http from "node:http";
import os from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { privateStackEnv } from "../test/helpers/private-stack.js";

const run = promisify(execFile);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

// --- numbers -------------------------------------------------------------------------
export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
export interface Dist {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}
export function dist(xs: number[]): Dist {
  const s = [...xs].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: round(pct(s, 50)),
    p95: round(pct(s, 95)),
    p99: round(pct(s, 99)),
    max: round(s[s.length - 1] ?? Number.NaN),
    mean: round(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)),
  };
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "?",
    ramGb: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    kernel: os.release(),
    loadavg: os.loadavg().map((x) => round(x, 2)),
    clickhouse: "embedded chDB (ClickHouse 26.x engine)",
    note: "shared machine: other engineers' test runs may be running; see loadavg at start/end",
  };
}

export function writeResult(name: string, result: unknown): void {
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(`bench/results/${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written: bench/results/${name}.json`);
}

export function argNumber(args: Record<string, unknown>, key: string): number {
  const v = Number(args[key]);
  if (!Number.isFinite(v)) throw new Error(`--${key} must be a number`);
  return v;
}

// --- the private stack ---------------------------------------------------------------
export interface BenchStack {
  dir: string;
  env: Record<string, string>;
  stack: (...args: string[]) => Promise<string>;
  cli: (...args: string[]) => Promise<string>;
  /** pids of the stack's own processes: postgres (postmaster), kafka, connect. */
  pids: () => Record<string, number>;
  close: () => Promise<void>;
}

export function stackEnv(dir: string, basePort: number): Record<string, string> {
  const env = privateStackEnv(dir, basePort);
  return { ...env, READ_API_URL: `http://127.0.0.1:${env.READ_API_PORT}`, API_TOKEN: "", READ_API_TOKEN: "" };
}

export async function benchStack(defaultBasePort: number): Promise<BenchStack> {
  const reuse = process.env.BENCH_STACK_DIR && process.env.BENCH_BASE_PORT;
  const dir = reuse ? (process.env.BENCH_STACK_DIR as string) : mkdtempSync(join(os.tmpdir(), "bench-stack-"));
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755); // Postgres runs as the postgres OS user and must reach its data directory
  const env = stackEnv(dir, reuse ? Number(process.env.BENCH_BASE_PORT) : defaultBasePort);
  const stack = async (...args: string[]) =>
    (await run("bash", ["stack/stack.sh", ...args], { env: { ...process.env, ...env }, timeout: 600_000 })).stdout;
  const cli = async (...args: string[]) =>
    (
      await run(process.execPath, ["--import", "tsx", "src/main/cli.ts", ...args], {
        env: { ...process.env, ...env },
        timeout: 300_000,
      })
    ).stdout;
  const t0 = Date.now();
  console.log(
    `[bench] private stack in ${dir} (ports ${env.PG_PORT}…)${reuse ? " (bench/run.sh's, kept running)" : ""}`,
  );
  await stack("up");
  await cli("migrate");
  await cli("connectors");
  console.log(`[bench] stack ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const pidOf = (name: string) => {
    try {
      return Number(
        readFileSync(join(dir, "run", `${name}.pid`), "utf8")
          .trim()
          .split("\n")[0],
      );
    } catch {
      return 0;
    }
  };
  return {
    dir,
    env,
    stack,
    cli,
    pids: () => {
      const pg = Number(readFileSync(join(dir, "postgres", "postmaster.pid"), "utf8").split("\n")[0]);
      return { postgres: pg, kafka: pidOf("kafka"), connect: pidOf("connect") };
    },
    close: async () => {
      if (reuse) return;
      await stack("down").catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// --- the sidecar roles ---------------------------------------------------------------
export interface Sidecar {
  writeUrl: string;
  readUrl: string;
  pids: () => Record<string, number>;
  restart: (role: "write" | "projectread", extraEnv?: Record<string, string>) => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * `run write` and `run project read` as child processes (as in production). The projection
 * goes to a fresh chDB directory with a fresh consumer group, so a run starts from the
 * topics' beginning: callers wait for catch-up before measuring (`waitCaughtUp`).
 */
export async function startSidecar(st: BenchStack, extraEnv: Record<string, string> = {}): Promise<Sidecar> {
  const tag = randomUUID().slice(0, 8);
  const chdb = join(st.dir, `chdb-${tag}`);
  const baseEnv: Record<string, string> = {
    ...st.env,
    CLICKHOUSE_URL: `chdb:${chdb}`,
    PROJECTOR_GROUP: `bench-${tag}`,
    WRITE_API_PG_POOL_MAX: "32",
    READ_WAIT_MS: "10000",
    ...extraEnv,
  };
  const urls = {
    write: `http://127.0.0.1:${st.env.WRITE_API_PORT}`,
    projectread: `http://127.0.0.1:${st.env.READ_API_PORT}`,
  };
  const procs = new Map<string, ChildProcess>();
  const envs = new Map<string, Record<string, string>>();
  const start = async (role: "write" | "projectread", env: Record<string, string>) => {
    const args = role === "write" ? ["run", "write"] : ["run", "project", "read"];
    // BENCH_NODE_ARGS: extra node flags for the sidecar's processes (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof";
    // node refuses --cpu-prof in NODE_OPTIONS).
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", "src/main/cli.ts", ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log = createWriteStream(join(st.dir, `bench-${role}.log`), { flags: "a" });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    procs.set(role, child);
    envs.set(role, env);
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${role} exited with ${child.exitCode}; see ${st.dir}/bench-${role}.log`);
      const ok = await fetch(`${urls[role]}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`${role} not healthy in 120 s; see ${st.dir}/bench-${role}.log`);
      await sleep(250);
    }
  };
  const stopRole = async (role: string) => {
    const child = procs.get(role);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await gone;
    clearTimeout(t);
    procs.delete(role);
  };
  await start("write", baseEnv);
  await start("projectread", baseEnv);
  return {
    writeUrl: urls.write,
    readUrl: urls.projectread,
    pids: () => ({ write: procs.get("write")?.pid ?? 0, projectread: procs.get("projectread")?.pid ?? 0 }),
    restart: async (role, env = {}) => {
      await stopRole(role);
      await start(role, { ...(envs.get(role) ?? baseEnv), ...env });
    },
    stop: async () => {
      await stopRole("write");
      await stopRole("projectread");
    },
  };
}

// --- CPU from /proc ------------------------------------------------------------------
const TICK = 100; // USER_HZ

function procTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return 0;
  }
}
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}
/**
 * Pins a process, every thread of it and every descendant (Postgres backends) to `cpus`
 * (taskset list, e.g. "0"). Threads and children created later inherit the mask.
 */
export async function pinCpus(pid: number, cpus: string): Promise<void> {
  if (!pid) return;
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...childrenOf(all[i] as number));
  for (const p of all) await run("taskset", ["-a", "-p", "-c", cpus, String(p)]).catch(() => undefined); // gone meanwhile
}

/** CPU seconds of a process (postgres: the postmaster and all its backends, live ones only). */
function cpuSeconds(name: string, pid: number): number {
  if (!pid) return 0;
  const pids = name === "postgres" ? [pid, ...childrenOf(pid)] : [pid];
  return pids.reduce((s, p) => s + procTicks(p), 0) / TICK;
}

/** The whole machine's busy and total CPU seconds since boot (all cores, /proc/stat). */
export function totalCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] as string;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / TICK, total: total / TICK };
}

/**
 * Samples the CPU of named processes every 500 ms; `stop()` gives each one's average CPU
 * in % of one core over the window, and the machine's total busy % (all cores = 100·cores).
 * Postgres backends come and go: sampled often, summed per backend by its own delta.
 */
export function cpuSampler(pidsFn: () => Record<string, number>, selfName = "bench") {
  const last = new Map<string, number>(); // "name:pid" → ticks seen
  const used = new Map<string, number>();
  const sample = () => {
    const pids = { ...pidsFn(), [selfName]: process.pid };
    for (const [name, pid] of Object.entries(pids)) {
      if (!pid) continue;
      const list = name === "postgres" ? [pid, ...childrenOf(pid)] : [pid];
      for (const p of list) {
        const key = `${name}:${p}`;
        const t = procTicks(p) / TICK;
        const prev = last.get(key);
        if (prev !== undefined) used.set(name, (used.get(name) ?? 0) + Math.max(0, t - prev));
        else used.set(name, used.get(name) ?? 0);
        last.set(key, t);
      }
    }
  };
  sample();
  const t0 = performance.now();
  const m0 = totalCpuSeconds();
  const timer = setInterval(sample, 500);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      const secs = (performance.now() - t0) / 1000;
      const m1 = totalCpuSeconds();
      const perProcess = Object.fromEntries([...used].map(([k, v]) => [k, round((v / secs) * 100)]));
      return {
        seconds: round(secs),
        cpuPercentOfOneCore: perProcess,
        /** CPU seconds each process used in the window (÷ rows = CPU per row). */
        cpuSecondsUsed: Object.fromEntries([...used].map(([k, v]) => [k, round(v, 2)])) as Record<string, number>,
        machineBusyPercent: round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100),
      };
    },
  };
}
export { cpuSeconds };

// --- HTTP ---------------------------------------------------------------------------
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export function request(
  url: string,
  opts: { method?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: any }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? "GET",
        agent,
        timeout: opts.timeoutMs ?? 30_000,
        headers: {
          ...(body ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let json: any;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

// --- load --------------------------------------------------------------------------
/**
 * Open-loop shop commands at `rate` per second through the write API: each command is one
 * HTTP write (place an order of two lines; every 4th order is then paid, every 7th cancelled,
 * each a command of its own). At most `maxInFlight` at once: when the API cannot keep up,
 * the achieved rate falls below the target, which is what the benchmarks report.
 */
export class RateLoad {
  ok = 0;
  errors = 0;
  latencies: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private n = 0;
  private customers: string[] = [];
  private products: string[] = [];
  private followUps: string[] = [];
  private started = 0;
  private issued = 0;

  constructor(
    private readonly writeUrl: string,
    public rate: number,
    private readonly maxInFlight = 128,
  ) {}

  async seed(customers = 20, products = 50): Promise<void> {
    const tag = randomUUID().slice(0, 8);
    for (let i = 0; i < customers; i++) {
      const r = await request(`${this.writeUrl}/customers`, {
        method: "POST",
        body: { email: `rate-${tag}-${i}@example.test`, name: `Rate ${i}` },
      });
      if (r.status !== 201) throw new Error(`seeding a customer: ${r.status} ${JSON.stringify(r.json)}`);
      this.customers.push(r.json.id);
    }
    for (let i = 0; i < products; i++) {
      const r = await request(`${this.writeUrl}/products`, {
        method: "POST",
        body: { sku: `RATE-${tag}-${i}`, name: `Rate product ${i}`, price: `${(i % 20) + 1}.25`, stock: 100_000_000 },
      });
      if (r.status !== 201) throw new Error(`seeding a product: ${r.status} ${JSON.stringify(r.json)}`);
      this.products.push(r.json.id);
    }
  }

  private async one(): Promise<void> {
    this.inFlight++;
    const t0 = performance.now();
    try {
      const follow = this.followUps.shift();
      let r: { status: number; json: any };
      if (follow) {
        r = await request(`${this.writeUrl}${follow}`, { method: "POST" });
      } else {
        const k = this.n++;
        const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)] as T;
        const a = pick(this.products);
        let b = pick(this.products);
        if (b === a) b = this.products[(this.products.indexOf(a) + 1) % this.products.length] as string;
        r = await request(`${this.writeUrl}/orders`, {
          method: "POST",
          body: {
            customerId: pick(this.customers),
            lines: [
              { productId: a, quantity: 1 + (k % 3) },
              { productId: b, quantity: 1 },
            ],
          },
        });
        if (r.status === 201 && k % 4 === 0) this.followUps.push(`/orders/${r.json.id}/pay`);
        else if (r.status === 201 && k % 7 === 0) this.followUps.push(`/orders/${r.json.id}/cancel`);
      }
      if (r.status >= 200 && r.status < 300) {
        this.ok++;
        this.latencies.push(performance.now() - t0);
      } else if (r.status !== 409) this.errors++;
      else this.ok++; // a conflict (pay after cancel) is a correct answer of a committed command path
    } catch {
      this.errors++;
    } finally {
      this.inFlight--;
    }
  }

  start(): void {
    this.started = performance.now();
    this.issued = 0;
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - this.started) / 1000) * this.rate);
      while (this.issued < due) {
        if (this.inFlight >= this.maxInFlight) {
          this.issued = due; // dropped: the API is saturated; the achieved rate shows it
          break;
        }
        this.issued++;
        void this.one();
      }
    }, 5);
  }

  /** Resets counters (e.g. after a warm-up) without stopping. */
  reset(): void {
    this.ok = 0;
    this.errors = 0;
    this.latencies = [];
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    while (this.inFlight > 0) await sleep(20);
  }
}

// --- the freshness probe -------------------------------------------------------------
export interface ProbeSample {
  /** commit (write answered) → the read carrying the token answered 200 with the row, ms. */
  withToken: number;
  /** commit → a plain read (no token, polled every `pollMs`) first shows the row, ms. */
  withoutToken: number;
  /** lagMs of the freshness block in the first no-token answer that showed the row. */
  reportedLagMs: number | null;
}

/**
 * Writes a customer through the write API every `everyMs`, then at once (a) sends one read
 * with its X-Consistency-Token (re-sent on a 503) and (b) polls without a token every
 * `pollMs`, until each sees the row. Both clocks start when the write answered.
 */
export class FreshnessProbe {
  samples: ProbeSample[] = [];
  failures = 0;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly writeUrl: string,
    private readonly readUrl: string,
    private readonly everyMs = 250,
    private readonly pollMs = 25,
  ) {}

  private async probeOnce(): Promise<void> {
    const r = await request(`${this.writeUrl}/customers`, {
      method: "POST",
      body: { email: `probe-${randomUUID()}@example.test`, name: "Probe" },
    });
    const committed = performance.now();
    if (r.status !== 201) {
      this.failures++;
      return;
    }
    const id = r.json.id as string;
    const token = r.headers["x-consistency-token"] as string;
    const url = `${this.readUrl}/api/tables/shop__customers/rows?filter=id:eq:${id}&limit=1`;
    const deadline = committed + 30_000;
    const withToken = (async () => {
      while (performance.now() < deadline) {
        const a = await request(url, { headers: { "x-consistency-token": token } });
        if (a.status === 200 && a.json?.data?.length === 1) return performance.now() - committed;
        if (a.status === 200)
          throw new Error(`read with token ${token} answered 200 without the row: consistency broken`);
        await sleep(5);
      }
      return Number.NaN;
    })();
    const withoutToken = (async () => {
      while (performance.now() < deadline) {
        const a = await request(url);
        if (a.status === 200 && a.json?.data?.length === 1)
          return { ms: performance.now() - committed, lag: (a.json.freshness?.lagMs as number | null) ?? null };
        await sleep(this.pollMs);
      }
      return { ms: Number.NaN, lag: null };
    })();
    const [t, w] = await Promise.all([withToken, withoutToken]);
    if (Number.isNaN(t) || Number.isNaN(w.ms)) this.failures++;
    else this.samples.push({ withToken: t, withoutToken: w.ms, reportedLagMs: w.lag });
  }

  start(): void {
    this.running = true;
    // One probe at a time: overlapping probes would each poll the read API and the polling
    // itself would become the load that slows the projection down.
    this.loop = (async () => {
      while (this.running) {
        const t0 = performance.now();
        await this.probeOnce().catch((e) => {
          if (String(e).includes("consistency broken")) throw e;
          this.failures++;
        });
        await sleep(Math.max(0, this.everyMs - (performance.now() - t0)));
      }
    })();
  }

  async stop(): Promise<{ withToken: Dist; withoutToken: Dist; failures: number }> {
    this.running = false;
    await this.loop;
    return {
      withToken: dist(this.samples.map((s) => s.withToken)),
      withoutToken: dist(this.samples.map((s) => s.withoutToken)),
      failures: this.failures,
    };
  }
}

/** Waits until the projection's watermark passes the current WAL position (catch-up after start). */
export async function waitCaughtUp(writeUrl: string, readUrl: string, timeoutMs = 600_000): Promise<number> {
  const t0 = Date.now();
  const r = await request(`${writeUrl}/customers`, {
    method: "POST",
    body: { email: `catchup-${randomUUID()}@example.test`, name: "Catch-up" },
  });
  const token = r.headers["x-consistency-token"] as string;
  while (Date.now() - t0 < timeoutMs) {
    // The table list reads no table in particular: its token wait is for every captured topic.
    const a = await request(`${readUrl}/api/tables`, {
      headers: { "x-consistency-token": token },
    }).catch(() => ({ status: 0 }));
    if (a.status === 200) return (Date.now() - t0) / 1000;
    await sleep(500);
  }
  throw new Error("projection did not catch up");
}

/** Reads one counter/gauge sum from a Prometheus text endpoint. */
export async function metric(url: string, name: string): Promise<number> {
  const r = await fetch(url).then((x) => x.text());
  let sum = 0;
  for (const line of r.split("\n")) {
    if (line.startsWith(name) && (line[name.length] === " " || line[name.length] === "{"))
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

export const exists = existsSync;

/** Inserts rows firstId.. of the peers table `<schema>.items` in 10,000-row transactions. */
export async function insertItems(
  pool: { query: (sql: string, params: unknown[]) => Promise<unknown> },
  schema: string,
  firstId: number,
  rows: number,
): Promise<void> {
  for (let off = 0; off < rows; off += 10_000) {
    const n = Math.min(10_000, rows - off);
    await pool.query(
      `INSERT INTO ${schema}.items (id, sku, qty, price, updated_at)
       SELECT g, 'T-' || g, g % 1000, (g % 10000) / 100.0, now() FROM generate_series($1::bigint, $2::bigint) g`,
      [firstId + off, firstId + off + n - 1],
    );
  }
}
