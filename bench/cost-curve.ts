/**
 * Cost curve (issue 7): the whole pipeline at 1x, 4x, 16x (then 32x, 64x … with --until-saturated)
 * a base write rate through the write API, on a private native stack. Per level: commands/s
 * achieved, rows/s the projector inserted, freshness (the probe of bench/freshness.ts, with and
 * without the consistency token), the projector's consumer lag at the end, and the CPU of every
 * process (Postgres with its backends, Kafka, Connect, the write process, the project+read
 * process, this driver) sampled from /proc. Saturation: the write API no longer reaches the
 * target rate, or the projection falls behind (token p50 > 1 s or the lag keeps growing).
 *
 *   node --import tsx bench/cost-curve.ts [--base 20] [--seconds 20] [--until-saturated]
 */
import { parseArgs } from "node:util";
import {
  benchStack,
  cpuSampler,
  FreshnessProbe,
  machine,
  metric,
  RateLoad,
  round,
  sleep,
  startSidecar,
  waitCaughtUp,
  writeResult,
} from "./lib.js";

const { values: args } = parseArgs({
  options: {
    base: { type: "string", default: "20" },
    seconds: { type: "string", default: "20" },
    "until-saturated": { type: "boolean", default: false },
    "base-port": { type: "string", default: "26360" },
  },
});
const BASE = Number(args.base);
const SECONDS = Number(args.seconds);

const machineAtStart = machine();
const st = await benchStack(Number(args["base-port"]));
const side = await startSidecar(st);
const metricsUrl = `${side.readUrl}/metrics`;

const levels = args["until-saturated"] ? [1, 4, 16, 32, 64, 128] : [1, 4, 16];
const results = [];
try {
  for (const x of levels) {
    const rate = BASE * x;
    const load = new RateLoad(side.writeUrl, rate, 256);
    await load.seed();
    await waitCaughtUp(side.writeUrl, side.readUrl);
    load.start();
    await sleep(3000);
    load.reset();
    const rows0 = await metric(metricsUrl, "sidecar_projector_rows_inserted_total");
    const lag0 = await metric(metricsUrl, "sidecar_projector_consumer_lag");
    const probe = new FreshnessProbe(side.writeUrl, side.readUrl);
    const cpu = cpuSampler(() => ({ ...st.pids(), ...side.pids() }), "bench (load driver)");
    const t0 = performance.now();
    probe.start();
    await sleep(SECONDS * 1000);
    const secs = (performance.now() - t0) / 1000;
    const ok = load.ok;
    const errors = load.errors;
    const rows1 = await metric(metricsUrl, "sidecar_projector_rows_inserted_total");
    const lag1 = await metric(metricsUrl, "sidecar_projector_consumer_lag");
    const usage = cpu.stop();
    await load.stop();
    const fresh = await probe.stop();
    const achieved = round(ok / secs);
    const top = Object.entries(usage.cpuPercentOfOneCore).sort((a, b) => b[1] - a[1]);
    const saturated =
      achieved < rate * 0.9
        ? "write side (target rate not reached)"
        : fresh.withToken.p50 > 1000 || lag1 > lag0 + rate * 2
          ? "projection (falls behind)"
          : "";
    const r = {
      multiple: x,
      targetCommandsPerSec: rate,
      achievedCommandsPerSec: achieved,
      writeErrors: errors,
      projectorRowsPerSec: round((rows1 - rows0) / secs),
      consumerLagStart: lag0,
      consumerLagEnd: lag1,
      freshnessWithToken: fresh.withToken,
      freshnessWithoutToken: fresh.withoutToken,
      cpu: usage,
      busiest: top.slice(0, 3).map(([k, v]) => `${k} ${v}%`),
      saturated,
      loadavg: machine().loadavg,
    };
    results.push(r);
    console.log(
      `${x}x ${rate}/s: ${achieved} cmd/s, projector ${r.projectorRowsPerSec} rows/s, token p50 ${fresh.withToken.p50} p99 ${fresh.withToken.p99} ms, lag ${lag0}→${lag1}, busiest ${r.busiest.join(", ")}, machine ${usage.machineBusyPercent}%${saturated ? ` — SATURATED: ${saturated}` : ""}`,
    );
    if (saturated && args["until-saturated"]) break;
  }
  console.log(
    `\ncost curve, base ${BASE} commands/s, ${SECONDS} s per level, ${machineAtStart.cpus} CPUs (CPU in % of one core)\n`,
  );
  console.table(
    Object.fromEntries(
      results.map((r) => [
        `${r.multiple}x (${r.targetCommandsPerSec}/s)`,
        {
          "cmd/s": r.achievedCommandsPerSec,
          "proj rows/s": r.projectorRowsPerSec,
          "token p50": r.freshnessWithToken.p50,
          "token p99": r.freshnessWithToken.p99,
          "lag end": r.consumerLagEnd,
          postgres: r.cpu.cpuPercentOfOneCore.postgres,
          kafka: r.cpu.cpuPercentOfOneCore.kafka,
          connect: r.cpu.cpuPercentOfOneCore.connect,
          write: r.cpu.cpuPercentOfOneCore.write,
          "project+read": r.cpu.cpuPercentOfOneCore.projectread,
          driver: r.cpu.cpuPercentOfOneCore["bench (load driver)"],
          "machine %": r.cpu.machineBusyPercent,
        },
      ]),
    ),
  );
  const first = results.find((r) => r.saturated);
  console.log(
    first
      ? `first saturation at ${first.multiple}x: ${first.saturated}; busiest processes ${first.busiest.join(", ")}`
      : "no level saturated (run with --until-saturated to go further)",
  );
  writeResult("cost-curve", {
    benchmark: "cost-curve",
    at: new Date().toISOString(),
    machine: { ...machineAtStart, loadavgEnd: machine().loadavg },
    baseCommandsPerSec: BASE,
    secondsPerLevel: SECONDS,
    command:
      "one HTTP write: place an order of 2 lines (≈5 row changes: order, 2 lines, 2 stock updates), or pay/cancel one (1 row change)",
    cpuNote:
      "% of one core, averaged over the level; the machine has machine.cpus cores; Node processes are bound by one core for their JavaScript",
    results,
    firstSaturation: first ? { multiple: first.multiple, what: first.saturated, busiest: first.busiest } : null,
  });
} finally {
  await side.stop();
  await st.close();
}
process.exit(0);
