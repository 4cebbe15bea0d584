/**
 * Prints the numbers of bench/results/*.json as Markdown tables (what docs/performance.md
 * quotes). Missing results are skipped.
 *
 *   node --import tsx bench/report.ts
 */
import { existsSync, readFileSync } from "node:fs";

// biome-ignore lint/suspicious/noExplicitAny: free-form JSON results
const load = (name: string): any => {
  const p = `bench/results/${name}.json`;
  return existsSync(p) ? JSON.parse(readFileSync(p, "utf8")) : undefined;
};
const n = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "—");
const row = (cells: unknown[]) => console.log(`| ${cells.join(" | ")} |`);
const head = (cells: string[]) => {
  row(cells);
  row(cells.map(() => "---"));
};
const when = (r: {
  at: string;
  machine?: { loadavg?: number[]; loadavgEnd?: number[] };
  load_average?: { start: number[] };
}) =>
  `${r.at.slice(0, 16).replace("T", " ")} UTC, load average ${(r.machine?.loadavg ?? r.load_average?.start ?? []).join(" ")}${r.machine?.loadavgEnd ? ` → ${r.machine.loadavgEnd.join(" ")}` : ""}`;

const w = load("write");
if (w) {
  console.log(`\n### write (${when(w)})\n`);
  head(["phase", "orders/s", "p50 ms", "p99 ms"]);
  for (const p of w.phases) row([p.name, n(p.throughput), p.p50_ms, p.p99_ms]);
}
const p = load("projector");
if (p) {
  console.log(`\n### projector (${when(p)})\n`);
  const us = (x: number | undefined) => (x === undefined ? "" : `${x.toFixed(1)} µs`);
  head(["", "rows/s (median of rounds)", "machine CPU per row"]);
  row(["consume-only", n(p.consumeOnly), us(p.machineCpuUsPerRow?.consumeOnly)]);
  row(["insert-only", n(p.insertOnly), us(p.machineCpuUsPerRow?.insertOnly)]);
  row([
    "projector",
    `${n(p.projector)} (${Math.round(p.ratioToSlowerBaseline * 100)}% of the slower baseline)`,
    us(p.machineCpuUsPerRow?.projector),
  ]);
}
const r = load("read");
if (r) {
  console.log(`\n### read (${when(r)})\n`);
  head(["endpoint", "read API p50 ms", "p99 ms", "Postgres p50 ms", "×"]);
  for (const x of r.results) row([x.endpoint, x.http_p50_ms, x.http_p99_ms, x.postgres_p50_ms, x.ratio_p50]);
}
const f = load("freshness");
if (f) {
  const m = f.result;
  console.log(`\n### freshness (${when(f)})\n`);
  head(["", "p50 ms", "p95 ms", "p99 ms", "max ms", "probes"]);
  row(["with token", m.withToken.p50, m.withToken.p95, m.withToken.p99, m.withToken.max, m.withToken.n]);
  row([
    "without token",
    m.withoutToken.p50,
    m.withoutToken.p95,
    m.withoutToken.p99,
    m.withoutToken.max,
    m.withoutToken.n,
  ]);
  console.log(`\nload: ${m.achievedRate} of ${m.targetRate} commands/s for ${m.seconds} s`);
}
const s = load("freshness-sweep");
if (s) {
  console.log(`\n### freshness sweep (${when(s)})\n`);
  head(["setting", "cmd/s", "token p50", "token p99", "no-token p50", "no-token p99"]);
  for (const m of s.results)
    row([m.setting, m.achievedRate, m.withToken.p50, m.withToken.p99, m.withoutToken.p50, m.withoutToken.p99]);
}
const pe = load("peers");
if (pe) {
  console.log(`\n### peers (${when(pe)})\n`);
  head(["consumer", "fresh p50 ms", "p99 ms", "max ms", "end-to-end rows/s", "backlog drain rows/s"]);
  for (const c of Object.keys(pe.freshness))
    row([
      c,
      pe.freshness[c].p50,
      pe.freshness[c].p99,
      pe.freshness[c].max,
      n(pe.throughput.perConsumer[c].rowsPerSec),
      pe.backlogDrain?.[c] ? n(pe.backlogDrain[c].rowsPerSec) : "— (not through Kafka)",
    ]);
  console.log(`\nDebezium alone: ${n(pe.throughput.debeziumRowsPerSec)} rows/s onto the topic`);
}
for (const name of ["isolation", "isolation-shared"]) {
  const i = load(name);
  if (!i) continue;
  console.log(`\n### ${name} (${when(i)}; ${i.cpus ?? "shared: every process on every CPU"})\n`);
  head(["phase", "orders/s", "p50 ms", "p99 ms", "dashboard queries/s"]);
  for (const x of i.phases) row([x.phase, x.ordersPerSec, x.p50Ms, x.p99Ms, x.dashboardQueriesPerSec]);
  console.log(`\ncost: read API ${i.costPercent.readApi}%, Postgres (CRUD) ${i.costPercent.postgresCrud}%`);
}
const c = load("cost-curve");
if (c) {
  console.log(`\n### cost curve (${when(c)})\n`);
  head([
    "level",
    "cmd/s",
    "projector rows/s",
    "token p50",
    "token p99",
    "postgres %",
    "kafka %",
    "connect %",
    "write %",
    "project+read %",
    "machine busy %",
  ]);
  for (const x of c.results) {
    const u = x.cpu.cpuPercentOfOneCore;
    row([
      `${x.multiple}x (${x.targetCommandsPerSec}/s)`,
      x.achievedCommandsPerSec,
      x.projectorRowsPerSec,
      x.freshnessWithToken.p50,
      x.freshnessWithToken.p99,
      u.postgres,
      u.kafka,
      u.connect,
      u.write,
      u.projectread,
      x.cpu.machineBusyPercent,
    ]);
  }
  console.log(`\nfirst saturation: ${JSON.stringify(c.firstSaturation)}`);
}
