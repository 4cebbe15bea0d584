import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * The user's path: the stack `make up` starts (the sidecar's roles in their own process, on
 * their default ports), and the CLI run as a separate process with a user's environment — none
 * of the sidecar's variables set, so every default a user gets applies. No in-process client.
 */
export const ROOT = join(import.meta.dirname, "../..");
const run = promisify(execFile);

/** process.env less what vitest and a test fixture add: the environment of a user's shell. */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const ours =
    /^(VITEST|NODE_ENV$|DATABASE_URL$|CONNECT_DATABASE_URL$|KAFKA_|CLICKHOUSE_|TOPIC_PREFIX$|PROJECTOR_|DLQ_TOPIC$|SCHEMA_TOPIC$|READ_|WRITE_|API_TOKEN$|CAPTURE_TABLES$|LOG_LEVEL$)/;
  for (const [k, v] of Object.entries(process.env)) if (!ours.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** `make up` (idempotent): the stack and the sidecar's roles, as the README starts them. */
export async function makeUp(): Promise<void> {
  await run("make", ["up"], { cwd: ROOT, env: userEnv(), timeout: 600_000, maxBuffer: 64 << 20 });
}

/** The tokens `make up` keeps, as a user's `eval "$(make -s token)"` gets them. */
export function stackTokens(): { API_TOKEN: string; READ_API_TOKEN: string } {
  const text = readFileSync(join(ROOT, ".stack/tokens"), "utf8");
  const get = (k: string) => text.match(new RegExp(`^${k}=(.*)$`, "m"))?.[1] ?? "";
  return { API_TOKEN: get("API_TOKEN"), READ_API_TOKEN: get("READ_API_TOKEN") };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/** `npx cqrs-sidecar <args>` as its own process; `onOutput` sees the output as it comes. */
export function cli(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; onOutput?: (all: string) => void } = {},
): { done: Promise<CliRun>; pid: number | undefined; kill: (s?: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, [join(ROOT, "bin/cqrs-sidecar.mjs"), ...args], {
    cwd: ROOT,
    env: userEnv({ ...stackTokens(), ...opts.env }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group: a kill reaches the tsx child too
  });
  let out = "";
  const take = (c: Buffer) => {
    out += c.toString("utf8");
    opts.onOutput?.(out);
  };
  child.stdout.on("data", take);
  child.stderr.on("data", take);
  const kill = (s: NodeJS.Signals = "SIGKILL") => {
    try {
      if (child.pid) process.kill(-child.pid, s);
    } catch {
      // gone already
    }
  };
  const timer = setTimeout(() => kill(), opts.timeoutMs ?? 300_000);
  const done = new Promise<CliRun>((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    }),
  );
  return { done, pid: child.pid, kill };
}

/** Runs the CLI to its end. */
export const runCli = (args: string[], opts: Parameters<typeof cli>[1] = {}) => cli(args, opts).done;
