/**
 * Freshness (issue 7): at a steady write load through the write API, the time from commit
 * (the write answered) to visible in the read API, measured by a probe that writes a customer
 * every 250 ms (one at a time) and reads it (a) once with its X-Consistency-Token (the read API waits for the
 * watermark) and (b) without the token, polling every 25 ms until the row shows up.
 * Everything real, on a private native stack (Postgres, Kafka, Connect + Debezium, the sidecar's
 * write and project+read processes): the shared stack is never touched.
 *
 *   node --import tsx bench/freshness.ts [--rate 200] [--seconds 60] [--sweep] [--sweep-seconds 20]
 *
 * --sweep also measures one setting changed at a time (Debezium poll.interval.ms and heartbeat,
 * Connect offset.flush.interval.ms, kafkajs maxWaitTimeInMs, the projector's watermark interval)
 * and writes bench/results/freshness-sweep.json. Targets: p50 < 300 ms, p99 < 1 s.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { FETCH_MIN_BYTES } from "../src/projector/projector.js";
import { loadConfig } from "../src/shared/config.js";
import {
  benchStack,
  cpuSampler,
  type Dist,
  FreshnessProbe,
  machine,
  RateLoad,
  request,
  round,
  sleep,
  startSidecar,
  waitCaughtUp,
  writeResult,
} from "./lib.js";

const { values: args } = parseArgs({
  options: {
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "60" },
    sweep: { type: "boolean", default: false },
    "sweep-seconds": { type: "string", default: "20" },
    // Seconds at the target rate before measuring: steady state, not JVM start-up. Kafka's and
    // Connect's JVMs compile for a minute or two under load; on a fresh stack Connect's committed
    // offset trailed the WAL by ≈3 s meanwhile, so token reads waited for it: 30 s gave token p99
    // 2.8–9.5 s on fresh stacks, 120 s gave 553 ms (docs/performance.md, Freshness).
    warmup: { type: "string", default: "120" },
    // Re-measure only the variants whose name contains one of these (comma separated), each right
    // after a defaults run of its own (paired, so a change of the machine's load hits both);
    // results go to freshness-sweep-paired.json and freshness.json is left as it is.
    only: { type: "string" },
    "base-port": { type: "string", default: "26300" },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const SWEEP_SECONDS = Number(args["sweep-seconds"]);

/** stack.sh's default offset.flush.interval.ms (CONNECT_OFFSET_FLUSH_MS overrides it). */
const FLUSH_MS = Number(
  process.env.CONNECT_OFFSET_FLUSH_MS ??
    readFileSync("stack/stack.sh", "utf8").match(/CONNECT_OFFSET_FLUSH_MS:-(\d+)/)?.[1],
);
/** The projector's shipped defaults (src/shared/config.ts), so the report never names stale ones. */
const { PROJECTOR_FETCH_WAIT_MS: FETCH_WAIT_MS, PROJECTOR_WATERMARK_INTERVAL_MS: WATERMARK_MS } = loadConfig({});
const shopConnector = JSON.parse(readFileSync("connectors/shop.json", "utf8")) as Record<string, string>;
const machineAtStart = machine();
const st = await benchStack(Number(args["base-port"]));
const side = await startSidecar(st);

interface Measured {
  setting: string;
  seconds: number;
  targetRate: number;
  achievedRate: number;
  writeErrors: number;
  writeP99Ms: number;
  withToken: Dist;
  withoutToken: Dist;
  probeFailures: number;
  /** Seconds at the target rate before measuring (0 for sweep variants: 3 s). */
  warmupSeconds: number;
  cpu: ReturnType<ReturnType<typeof cpuSampler>["stop"]>;
  loadavg: number[];
}

async function measure(setting: string, seconds: number): Promise<Measured> {
  const load = new RateLoad(side.writeUrl, RATE);
  await load.seed();
  await waitCaughtUp(side.writeUrl, side.readUrl);
  load.start();
  const warmupSeconds = setting.startsWith("defaults (") ? Number(args.warmup) : 3;
  await sleep(warmupSeconds * 1000); // warm-up at the target rate
  load.reset();
  const probe = new FreshnessProbe(side.writeUrl, side.readUrl);
  const cpu = cpuSampler(() => ({ ...st.pids(), ...side.pids() }));
  const t0 = performance.now();
  probe.start();
  await sleep(seconds * 1000);
  const p = await probe.stop();
  const secs = (performance.now() - t0) / 1000;
  const ok = load.ok;
  const lat = [...load.latencies].sort((a, b) => a - b);
  await load.stop();
  const m: Measured = {
    setting,
    seconds: round(secs),
    targetRate: RATE,
    achievedRate: round(ok / secs),
    writeErrors: load.errors,
    writeP99Ms: round(lat[Math.floor(lat.length * 0.99)] ?? Number.NaN),
    withToken: p.withToken,
    withoutToken: p.withoutToken,
    probeFailures: p.failures,
    warmupSeconds,
    cpu: cpu.stop(),
    loadavg: (await import("node:os")).loadavg().map((x) => round(x, 2)),
  };
  console.log(
    `${setting.padEnd(44)} ${String(m.achievedRate).padStart(6)} cmd/s | token p50 ${m.withToken.p50} p95 ${m.withToken.p95} p99 ${m.withToken.p99} max ${m.withToken.max} | no token p50 ${m.withoutToken.p50} p95 ${m.withoutToken.p95} p99 ${m.withoutToken.p99} max ${m.withoutToken.max} (n=${m.withToken.n}, failed ${m.probeFailures})`,
  );
  return m;
}

function table(rows: Measured[]): void {
  console.table(
    Object.fromEntries(
      rows.map((r) => [
        r.setting,
        {
          "cmd/s": r.achievedRate,
          "token p50": r.withToken.p50,
          "token p95": r.withToken.p95,
          "token p99": r.withToken.p99,
          "token max": r.withToken.max,
          "no-token p50": r.withoutToken.p50,
          "no-token p99": r.withoutToken.p99,
          "no-token max": r.withoutToken.max,
          probes: r.withToken.n,
        },
      ]),
    ),
  );
}

async function connectorConfig(): Promise<Record<string, string>> {
  const r = await request(`${st.env.KAFKA_CONNECT_URL}/connectors/shop/config`);
  return r.json as Record<string, string>;
}
async function putConnector(cfg: Record<string, string>): Promise<void> {
  const r = await request(`${st.env.KAFKA_CONNECT_URL}/connectors/shop/config`, { method: "PUT", body: cfg });
  if (r.status >= 300) throw new Error(`PUT connector: ${r.status} ${JSON.stringify(r.json)}`);
  for (let i = 0; i < 240; i++) {
    const s = await request(`${st.env.KAFKA_CONNECT_URL}/connectors/shop/status`);
    if (s.json?.connector?.state === "RUNNING" && s.json?.tasks?.[0]?.state === "RUNNING") return;
    await sleep(500);
  }
  throw new Error("connector not RUNNING after config change");
}
async function restartConnect(flushMs: number): Promise<void> {
  await st.stack("stop", "connect");
  process.env.CONNECT_OFFSET_FLUSH_MS = String(flushMs); // stack.sh writes it into connect.properties
  await st.stack("up");
  for (let i = 0; i < 240; i++) {
    const s = await request(`${st.env.KAFKA_CONNECT_URL}/connectors/shop/status`).catch(() => ({ json: undefined }));
    if (s.json?.tasks?.[0]?.state === "RUNNING") return;
    await sleep(500);
  }
  throw new Error("connector not RUNNING after Connect restart");
}

const results: Measured[] = [];
const sweep: Measured[] = [];
try {
  const defaults = `defaults (poll ${shopConnector["poll.interval.ms"]} ms, heartbeat ${shopConnector["heartbeat.interval.ms"]} ms, flush ${FLUSH_MS} ms, fetch wait ${FETCH_WAIT_MS} ms or ${FETCH_MIN_BYTES / 2 ** 20} MiB, watermark ${WATERMARK_MS} ms)`;
  results.push(await measure(defaults, SECONDS));
  console.log(
    `\nfreshness at ${RATE} commands/s for ${SECONDS} s, ${machineAtStart.cpus} CPUs (ms from commit to visible)\n`,
  );
  table(results);
  const main = results[0] as Measured;
  const meets = main.withToken.p50 < 300 && main.withToken.p99 < 1000;
  console.log(
    `with token: p50 ${main.withToken.p50} ms (target < 300), p99 ${main.withToken.p99} ms (target < 1000): ${meets ? "met" : "NOT met"}`,
  );
  if (!args.only)
    writeResult("freshness", {
      benchmark: "freshness",
      at: new Date().toISOString(),
      machine: { ...machineAtStart, loadavgEnd: machine().loadavg },
      settings: {
        "debezium poll.interval.ms": Number(shopConnector["poll.interval.ms"]),
        "debezium heartbeat.interval.ms": Number(shopConnector["heartbeat.interval.ms"]),
        "connect offset.flush.interval.ms": FLUSH_MS,
        PROJECTOR_FETCH_WAIT_MS: FETCH_WAIT_MS,
        "kafkajs minBytes": FETCH_MIN_BYTES,
        PROJECTOR_WATERMARK_INTERVAL_MS: WATERMARK_MS,
      },
      probe:
        "a customer written every 250 ms; token read once (re-sent on 503), plain read polled every 25 ms; one probe at a time",
      result: main,
      targets: { p50Ms: 300, p99Ms: 1000 },
      meetsTargets: meets,
    });

  if (args.sweep) {
    sweep.push(main);
    const orig = await connectorConfig();
    const variants: [string, () => Promise<void>, () => Promise<void>][] = [
      [
        "debezium poll.interval.ms 500 (its default)",
        () => putConnector({ ...orig, "poll.interval.ms": "500" }),
        () => putConnector(orig),
      ],
      [
        "debezium heartbeat.interval.ms 5000",
        () => putConnector({ ...orig, "heartbeat.interval.ms": "5000" }),
        () => putConnector(orig),
      ],
      ["connect offset.flush.interval.ms 1000", () => restartConnect(1000), () => restartConnect(FLUSH_MS)],
      ["connect offset.flush.interval.ms 5000", () => restartConnect(5000), () => restartConnect(FLUSH_MS)],
      [
        "kafkajs maxWaitTimeInMs 1000",
        () => side.restart("projectread", { PROJECTOR_FETCH_WAIT_MS: "1000" }),
        () => side.restart("projectread", { PROJECTOR_FETCH_WAIT_MS: String(FETCH_WAIT_MS) }),
      ],
      [
        "projector watermark interval 500 ms",
        () => side.restart("projectread", { PROJECTOR_WATERMARK_INTERVAL_MS: "500" }),
        () => side.restart("projectread", { PROJECTOR_WATERMARK_INTERVAL_MS: String(WATERMARK_MS) }),
      ],
      [
        "projector watermark interval 20 ms",
        () => side.restart("projectread", { PROJECTOR_WATERMARK_INTERVAL_MS: "20" }),
        () => side.restart("projectread", { PROJECTOR_WATERMARK_INTERVAL_MS: String(WATERMARK_MS) }),
      ],
    ];
    const only = args.only?.split(",").map((x) => x.trim());
    for (const [name, apply, undo] of variants) {
      if (only && !only.some((o) => name.includes(o))) continue;
      if (only) sweep.push(await measure(`  defaults, paired with the next row`, SWEEP_SECONDS));
      await apply();
      sweep.push(await measure(name, SWEEP_SECONDS));
      await undo();
    }
    console.log(`\nfreshness settings sweep, one change at a time, ${SWEEP_SECONDS} s each at ${RATE} commands/s\n`);
    table(sweep);
    writeResult(only ? "freshness-sweep-paired" : "freshness-sweep", {
      benchmark: "freshness-sweep",
      at: new Date().toISOString(),
      machine: { ...machineAtStart, loadavgEnd: machine().loadavg },
      secondsEach: SWEEP_SECONDS,
      rate: RATE,
      results: sweep,
    });
  }
} finally {
  await side.stop();
  await st.close();
}
process.exit(0);
