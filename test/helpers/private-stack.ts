import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmodSync, cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A native stack of the test's own (own data directory and ports), for fault tests that
 * stop and start Postgres, Kafka or Connect: the shared stack other tests use is never
 * touched. The sidecar runs as two child processes, as in production: `run write` and
 * `run project read` (embedded ClickHouse: projector and read API share a process).
 */
export interface PrivateStack {
  dir: string;
  /** The embedded ClickHouse's data directory (CLICKHOUSE_URL=chdb:<chdbDir>). */
  chdbDir: string;
  env: Record<string, string>;
  writeUrl: string;
  readUrl: string;
  metricsUrl: string;
  /** stack.sh with this stack's environment. */
  stack: (...args: string[]) => Promise<string>;
  startRole: (role: "write" | "projectread") => Promise<void>;
  /** SIGKILL (no goodbye) or SIGTERM a role's process and wait until it is gone. */
  killRole: (role: "write" | "projectread", signal: NodeJS.Signals) => Promise<void>;
  close: () => Promise<void>;
}

/** Ports and endpoints of a native stack of its own: basePort + 0..6, data under `dir`. */
export function privateStackEnv(dir: string, basePort: number): Record<string, string> {
  const p = (n: number) => String(basePort + n);
  return {
    STACK_DIR: dir,
    PG_PORT: p(0),
    KAFKA_PORT: p(1),
    KAFKA_CONTROLLER_PORT: p(2),
    CONNECT_PORT: p(3),
    WRITE_API_PORT: p(4),
    READ_API_PORT: p(5),
    PROJECTOR_METRICS_PORT: p(6),
    DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${p(0)}/shop`,
    KAFKA_BROKERS: `127.0.0.1:${p(1)}`,
    KAFKA_CONNECT_URL: `http://127.0.0.1:${p(3)}`,
    KAFKA_HEAP: "-Xms128m -Xmx512m",
    CONNECT_HEAP: "-Xms128m -Xmx512m",
    LOG_LEVEL: "warn",
    // Loopback only, so open is allowed; pinned so tokens exported in the developer's shell
    // (eval "$(make -s token)") do not leak into this stack's roles.
    API_TOKEN: "",
    READ_API_TOKEN: "",
  };
}

export interface PrivateStackOptions {
  /**
   * Puts the embedded ClickHouse's directory on a tmpfs of this many MiB, so a test can fill its
   * disk (needs root to mount; unmounted by close()).
   */
  chdbTmpfsMb?: number;
}

export async function startPrivateStack(basePort: number, opts: PrivateStackOptions = {}): Promise<PrivateStack> {
  const dir = mkdtempSync(join(tmpdir(), "private-stack-"));
  chmodSync(dir, 0o755); // Postgres runs as the postgres OS user and must reach its data directory
  const p = (n: number) => String(basePort + n);
  const chdbDir = join(dir, "chdb");
  if (opts.chdbTmpfsMb)
    await mountTmpfs(chdbDir, opts.chdbTmpfsMb).catch((err) => {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    });
  const env: Record<string, string> = {
    ...privateStackEnv(dir, basePort),
    CLICKHOUSE_URL: `chdb:${chdbDir}`,
  };
  const childEnv = { ...process.env, ...env };
  const stack = async (...args: string[]) =>
    (await run("bash", ["stack/stack.sh", ...args], { env: childEnv, timeout: 300_000 })).stdout;
  const cli = async (...args: string[]) =>
    (await run(process.execPath, ["--import", "tsx", "src/main/cli.ts", ...args], { env: childEnv, timeout: 300_000 }))
      .stdout;

  await stack("up");
  await cli("migrate");
  await cli("connectors");

  const procs = new Map<string, ChildProcess>();
  const urls = { write: `http://127.0.0.1:${p(4)}`, projectread: `http://127.0.0.1:${p(5)}` };
  const startRole = async (role: "write" | "projectread") => {
    const args = role === "write" ? ["run", "write"] : ["run", "project", "read"];
    // node --import tsx, not npx: a signal must reach the process that holds the chDB directory.
    const child = spawn(process.execPath, ["--import", "tsx", "src/main/cli.ts", ...args], {
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log = createWriteStream(join(dir, `${role}.log`), { flags: "a" });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    procs.set(role, child);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${role} exited with ${child.exitCode}; see ${dir}/${role}.log`);
      const ok = await fetch(`${urls[role]}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`${role} did not become healthy in 60 s; see ${dir}/${role}.log`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const killRole = async (role: "write" | "projectread", signal: NodeJS.Signals) => {
    const child = procs.get(role);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await gone;
    procs.delete(role);
  };
  return {
    dir,
    chdbDir,
    env,
    writeUrl: urls.write,
    readUrl: urls.projectread,
    metricsUrl: `http://127.0.0.1:${p(6)}`,
    stack,
    startRole,
    killRole,
    close: async () => {
      for (const role of [...procs.keys()] as ("write" | "projectread")[]) await killRole(role, "SIGKILL");
      await stack("down").catch(() => undefined);
      // Unmounted before the directory is removed, or rmSync would only empty the tmpfs and fail on it.
      if (opts.chdbTmpfsMb) await run("umount", [chdbDir]).catch(() => run("umount", ["-l", chdbDir]));
      keepLogs(dir, basePort);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function mountTmpfs(at: string, sizeMb: number): Promise<void> {
  mkdirSync(at, { recursive: true });
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${sizeMb}m,mode=755`, "tmpfs", at]);
  } catch (err) {
    throw new Error(`mounting a ${sizeMb} MiB tmpfs at ${at} failed (needs root): ${(err as Error).message}`);
  }
}

/** The stack's logs outlive it in test-results/private-stack-<port>/ (a failure is read after the run). */
function keepLogs(dir: string, basePort: number) {
  const to = join(import.meta.dirname, "../../test-results", `private-stack-${basePort}`);
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  for (const f of ["write.log", "projectread.log", "logs"])
    if (existsSync(join(dir, f))) cpSync(join(dir, f), join(to, f), { recursive: true });
}
