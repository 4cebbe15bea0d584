import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

/**
 * The Prometheus alert rules (ops/prometheus/alerts.yml) pass `promtool check rules`, and their
 * unit tests (alerts.test.yml) pass `promtool test rules`, with each alert shown both firing and
 * quiet there. promtool is Debian's `prometheus` package (make test installs it).
 */
const DIR = join(import.meta.dirname, "../../ops/prometheus");
const run = promisify(execFile);

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run("promtool", args, { cwd: DIR });
    return stdout + stderr;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === "ENOENT") throw new Error("promtool is missing: apt-get install prometheus (make test installs it)");
    throw new Error(`promtool ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

/** Alert names in the rules file. */
function alertNames(): string[] {
  return [...readFileSync(join(DIR, "alerts.yml"), "utf8").matchAll(/^\s*- alert:\s*(\S+)\s*$/gm)].map((m) => m[1]!);
}

/** Per alert in the test file: does some eval expect it firing, and some expect it quiet? */
function coverage(): Map<string, { fires: boolean; quiet: boolean }> {
  const text = readFileSync(join(DIR, "alerts.test.yml"), "utf8");
  const seen = new Map<string, { fires: boolean; quiet: boolean }>();
  for (const block of text.split(/^\s*- eval_time:/m).slice(1)) {
    const name = block.match(/^\s*alertname:\s*(\S+)\s*$/m)?.[1];
    if (!name) continue;
    const entry = seen.get(name) ?? { fires: false, quiet: false };
    if (/^\s*exp_alerts:\s*\[\]\s*$/m.test(block)) entry.quiet = true;
    else if (/^\s*- exp_labels:/m.test(block)) entry.fires = true;
    seen.set(name, entry);
  }
  return seen;
}

describe("alert rules (promtool)", () => {
  it("promtool check rules: the rules file is valid", async () => {
    const out = await promtool("check", "rules", "alerts.yml");
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("promtool test rules: every alert's tests pass", async () => {
    const out = await promtool("test", "rules", "alerts.test.yml");
    expect(out).toContain("SUCCESS");
  });

  it("the tests show each alert firing and each alert quiet", () => {
    const names = alertNames();
    expect(names.length).toBeGreaterThanOrEqual(10);
    const seen = coverage();
    const missing = names.filter((n) => !seen.get(n)?.fires || !seen.get(n)?.quiet);
    expect(missing, "alerts without a firing and a quiet case in alerts.test.yml").toEqual([]);
    // and nothing is tested that the rules do not define
    expect([...seen.keys()].filter((n) => !names.includes(n))).toEqual([]);
  });
});
